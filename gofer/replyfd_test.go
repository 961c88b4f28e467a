package gofer

import (
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// fakeServer answers every request on its end of a socket pair with the
// reply reply builds for it, sending fd along when it is not negative,
// until the client hangs up; the returned channel closes then.
func fakeServer(t *testing.T, serverEnd int, reply func(tag uint32, o op) []byte, fd int) <-chan struct{} {
	t.Helper()
	conn, err := newPacketConn(serverEnd)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer conn.close()
		in := make([]byte, maxMessageSize)
		for {
			n, _, _, err := conn.recv(in, nil)
			if err != nil || n == 0 {
				return
			}
			d := decoder{buf: in[:n]}
			tag := d.u32()
			o := op(d.u16())
			if conn.send(reply(tag, o), fd) != nil {
				return
			}
		}
	}()
	return done
}

// openFDs counts this process's open descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	return len(ents)
}

// A reply that carries a descriptor but is otherwise malformed (results
// left over, or none where some are due) or that lacks its descriptor
// breaks the session, and a descriptor that came with it is closed, for
// each operation whose reply carries one.
func TestMalformedDescriptorReplies(t *testing.T) {
	cases := []struct {
		name    string
		o       op
		call    func(c *Client) error
		results func(e *encoder)
		withFD  bool
	}{
		{"Open with results left over", opOpen, func(c *Client) error { _, err := c.Open(1, unix.O_RDONLY); return err },
			func(e *encoder) { e.u32(7) }, true},
		{"Open without a descriptor", opOpen, func(c *Client) error { _, err := c.Open(1, unix.O_RDONLY); return err },
			func(e *encoder) {}, false},
		{"Create with short results", opCreate, func(c *Client) error {
			_, _, _, err := c.Create(1, "f", unix.O_RDWR, 0o644, 0, 0)
			return err
		}, func(e *encoder) { e.u64(5) }, true},
		{"Create without a descriptor", opCreate, func(c *Client) error {
			_, _, _, err := c.Create(1, "f", unix.O_RDWR, 0o644, 0, 0)
			return err
		}, func(e *encoder) { e.u64(5); e.stat(&Stat{}) }, false},
		{"CreateTmpfile with results left over", opCreateTmpfile, func(c *Client) error {
			_, _, _, err := c.CreateTmpfile(1, 0, 0o644, 0, 0)
			return err
		}, func(e *encoder) { e.u64(5); e.stat(&Stat{}); e.u8(1) }, true},
		{"Connect with results left over", opConnect, func(c *Client) error {
			x := c.get()
			defer c.put(x)
			fd, err := x.connect()
			closeFD(fd)
			return err
		}, func(e *encoder) { e.u8(1) }, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			serverEnd, clientEnd := socketPair(t)
			fd := -1
			if tc.withFD {
				var err error
				if fd, err = unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0); err != nil {
					t.Fatal(err)
				}
				defer unix.Close(fd)
			}
			served := fakeServer(t, serverEnd, func(tag uint32, o op) []byte {
				var e encoder
				e.responseHeader(tag, o, 0)
				tc.results(&e)
				return e.buf
			}, fd)
			c, err := NewClient(clientEnd)
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				c.Shutdown()
				<-served
			}()
			before := openFDs(t)
			err = tc.call(c)
			if err == nil {
				t.Fatalf("a malformed %v reply was accepted", tc.o)
			}
			if _, ok := err.(unix.Errno); ok {
				t.Fatalf("a malformed %v reply gave errno %v, want a broken session", tc.o, err)
			}
			if after := openFDs(t); after != before {
				t.Errorf("%d descriptors open after the malformed reply, %d before: the received one leaked", after, before)
			}
			if _, err2 := c.Stat(1); err2 == nil || err2.Error() != err.Error() {
				t.Errorf("call after the malformed reply: %v, want the session's error %v", err2, err)
			}
		})
	}
}
