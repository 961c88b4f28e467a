package gofer

import (
	"runtime"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

// Concurrent callers make the session open more connections, up to its
// limit, and every connection serves the session's FIDs: a FID walked on
// one is stated and closed on others. Shutdown ends them all (the cleanup
// checks the server stops).
func TestConcurrentCallsOpenConnections(t *testing.T) {
	root := testTree(t)
	c := newTestClient(t, root)
	rootFID := mustRoot(t, c)
	fid, want := mustWalk(t, c, rootFID, "file.txt")

	// A caller that finds the only connection busy makes the session
	// grow when it is given back. Made certain here: on a loaded machine
	// the callers below may never overlap.
	x := c.get()
	statted := make(chan error, 1)
	go func() {
		_, err := c.Stat(fid)
		statted <- err
	}()
	for waiting := false; !waiting; {
		c.poolMu.Lock()
		waiting = c.waiters > 0
		c.poolMu.Unlock()
		runtime.Gosched()
	}
	c.put(x)
	if err := <-statted; err != nil {
		t.Fatalf("Stat while the connection was busy: %v", err)
	}
	if n := c.Conns(); n != 2 {
		t.Fatalf("session has %d connections after a caller waited, want 2", n)
	}

	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				st, err := c.Stat(fid)
				if err != nil {
					errs <- err
					return
				}
				if st.Ino != want.Ino {
					errs <- unix.ESTALE
					return
				}
				fids, _, err := c.Walk(rootFID, []string{"file.txt"})
				if err != nil {
					errs <- err
					return
				}
				if err := c.Close(fids...); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent call: %v", err)
	}
	if n := c.Conns(); n < 2 || n > MaxClientConns {
		t.Errorf("session has %d connections after concurrent calls, want 2..%d", n, MaxClientConns)
	}
}

// Connect is refused once the session has its most connections, and the
// connection it hands out is served with the session's FIDs.
func TestConnectLimit(t *testing.T) {
	root := testTree(t)
	c := newTestClient(t, root)
	rootFID := mustRoot(t, c)
	x := c.get()
	defer c.put(x)
	var fds []int
	defer func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}()
	for i := 1; i < MaxClientConns; i++ {
		fd, err := x.connect()
		if err != nil {
			t.Fatalf("Connect %d: %v", i, err)
		}
		fds = append(fds, fd)
	}
	if fd, err := x.connect(); err != unix.EMFILE {
		closeFD(fd)
		t.Fatalf("Connect past the limit = %v, want EMFILE", err)
	}
	// A client on an added connection shares the session's FIDs.
	pc, err := newPacketConn(fds[0])
	if err != nil {
		t.Fatal(err)
	}
	fds = fds[1:]
	other := &Client{}
	other.idle = sync.NewCond(&other.poolMu)
	y := other.newConn(pc)
	other.conns, other.free = []*clientConn{y}, []*clientConn{y}
	defer other.Shutdown()
	if _, err := other.Stat(rootFID); err != nil {
		t.Errorf("Stat of the session's FID on an added connection: %v", err)
	}
}
