package gofer

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// socketPair returns a connected SOCK_SEQPACKET pair.
func socketPair(t testing.TB) (serverEnd, clientEnd int) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("socketpair: %v", err)
	}
	return fds[0], fds[1]
}

// startServer serves root on one end of a new socket pair and returns the
// other end. The server runs with maxFIDs as its FID limit (MaxFIDs if 0).
// Cleanup checks that the server ended without error once the test closed
// its end.
func startServer(t testing.TB, root string, maxFIDs int) (clientEnd int, done <-chan error) {
	t.Helper()
	return startServerTrees(t, []Tree{{Path: root, ReadOnly: true}}, maxFIDs)
}

// startServerTrees is startServer for several trees.
func startServerTrees(t testing.TB, trees []Tree, maxFIDs int) (clientEnd int, done <-chan error) {
	t.Helper()
	serverEnd, clientEnd := socketPair(t)
	s, err := newServerTrees(trees)
	if err != nil {
		t.Fatalf("newServerTrees: %v", err)
	}
	if maxFIDs > 0 {
		s.maxFIDs = maxFIDs
	}
	pc, err := newPacketConn(serverEnd)
	if err != nil {
		t.Fatalf("newPacketConn: %v", err)
	}
	errc := make(chan error, 1)
	go func() {
		err := s.serve(pc)
		_ = pc.close()
		s.shutdown()
		errc <- err
	}()
	return clientEnd, errc
}

// waitServer waits for a server started by startServer to end.
func waitServer(t testing.TB, done <-chan error) {
	t.Helper()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("server ended with error: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Errorf("server did not end after the client hung up")
	}
}

// newTestClient serves root and returns a client for it, shut down (and
// the server checked) at cleanup.
func newTestClient(t testing.TB, root string) *Client {
	t.Helper()
	return newTestClientWithLimit(t, root, 0)
}

func newTestClientWithLimit(t testing.TB, root string, maxFIDs int) *Client {
	t.Helper()
	return newTreesClient(t, []Tree{{Path: root, ReadOnly: true}}, maxFIDs)
}

// newRWClient serves root read-write as the tree "" and returns a client.
func newRWClient(t testing.TB, root string) *Client {
	t.Helper()
	return newTreesClient(t, []Tree{{Path: root}}, 0)
}

// newTreesClient serves trees and returns a client for them.
func newTreesClient(t testing.TB, trees []Tree, maxFIDs int) *Client {
	t.Helper()
	clientEnd, done := startServerTrees(t, trees, maxFIDs)
	c, err := NewClient(clientEnd)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Shutdown(); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		waitServer(t, done)
	})
	return c
}

// testFileContent is the content of the regular files in testTree.
const testFileContent = "hello from the gofer\n"

// testTree creates:
//
//	a/b/c.txt      regular file
//	file.txt       regular file
//	empty/         empty directory
//	link-to-a  ->  a
func testTree(t testing.TB) string {
	t.Helper()
	root := t.TempDir()
	mustMkdirAll(t, filepath.Join(root, "a", "b"))
	mustMkdirAll(t, filepath.Join(root, "empty"))
	mustWriteFile(t, filepath.Join(root, "a", "b", "c.txt"), testFileContent)
	mustWriteFile(t, filepath.Join(root, "file.txt"), testFileContent)
	mustSymlink(t, "a", filepath.Join(root, "link-to-a"))
	return root
}

func mustMkdirAll(t testing.TB, path string) {
	t.Helper()
	if err := os.MkdirAll(path, 0o755); err != nil {
		t.Fatal(err)
	}
}

func mustWriteFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func mustSymlink(t testing.TB, target, path string) {
	t.Helper()
	if err := os.Symlink(target, path); err != nil {
		t.Fatal(err)
	}
}

// mustRoot attaches to the tree.
func mustRoot(t testing.TB, c *Client) FID {
	t.Helper()
	fid, _, err := c.Root()
	if err != nil {
		t.Fatalf("Root: %v", err)
	}
	return fid
}

// mustWalk walks names fully and returns the last FID.
func mustWalk(t testing.TB, c *Client, dir FID, names ...string) (FID, Stat) {
	t.Helper()
	fids, stats, err := c.Walk(dir, names)
	if err != nil || len(fids) != len(names) {
		t.Fatalf("Walk(%q) = %d FIDs, %v; want %d, nil", names, len(fids), err, len(names))
	}
	return fids[len(fids)-1], stats[len(stats)-1]
}

// lstat returns the host's view of path for comparison.
func lstat(t testing.TB, path string) unix.Stat_t {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		t.Fatal(err)
	}
	return st
}

// checkErrno fails unless err is want.
func checkErrno(t testing.TB, what string, err error, want unix.Errno) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: got error %v, want %v", what, err, want)
	} else if _, bare := err.(unix.Errno); !bare {
		t.Errorf("%s: error %#v is not a bare unix.Errno", what, err)
	}
}

// rawReply is a reply read off the socket by a raw test client.
type rawReply struct {
	tag     uint32
	op      op
	errno   unix.Errno
	payload []byte
	fds     []int
}

// rawConn is a test client that speaks the wire format directly.
type rawConn struct {
	t  testing.TB
	fd int
}

// newRawConn serves root and returns a raw client for it. Receives time out
// so a server that fails to answer fails the test instead of hanging it.
func newRawConn(t testing.TB, root string) *rawConn {
	t.Helper()
	return newRawConnTrees(t, []Tree{{Path: root, ReadOnly: true}})
}

// newRawConnTrees is newRawConn for several trees.
func newRawConnTrees(t testing.TB, trees []Tree) *rawConn {
	t.Helper()
	clientEnd, done := startServerTrees(t, trees, 0)
	tv := unix.Timeval{Sec: 10}
	if err := unix.SetsockoptTimeval(clientEnd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = unix.Close(clientEnd)
		waitServer(t, done)
	})
	return &rawConn{t: t, fd: clientEnd}
}

func (r *rawConn) send(pkt []byte, oob []byte) {
	r.t.Helper()
	err := unix.Sendmsg(r.fd, pkt, oob, nil, unix.MSG_NOSIGNAL)
	for err == unix.EINTR { // the runtime's preemption signal
		err = unix.Sendmsg(r.fd, pkt, oob, nil, unix.MSG_NOSIGNAL)
	}
	if err != nil {
		r.t.Fatalf("send: %v", err)
	}
}

// recv reads one reply; ok is false when the server hung up.
func (r *rawConn) recv() (rawReply, bool) {
	r.t.Helper()
	buf := make([]byte, maxMessageSize+1)
	oob := make([]byte, unix.CmsgSpace(4*4))
	n, oobn, flags, _, err := unix.Recvmsg(r.fd, buf, oob, unix.MSG_CMSG_CLOEXEC)
	for err == unix.EINTR { // the runtime's preemption signal
		n, oobn, flags, _, err = unix.Recvmsg(r.fd, buf, oob, unix.MSG_CMSG_CLOEXEC)
	}
	if err != nil {
		r.t.Fatalf("recv: %v", err)
	}
	if n == 0 {
		return rawReply{}, false
	}
	if flags&unix.MSG_TRUNC != 0 {
		r.t.Fatalf("reply larger than maxMessageSize")
	}
	var rep rawReply
	if oobn > 0 {
		msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
		if err != nil {
			r.t.Fatal(err)
		}
		for i := range msgs {
			fds, err := unix.ParseUnixRights(&msgs[i])
			if err != nil {
				r.t.Fatal(err)
			}
			rep.fds = append(rep.fds, fds...)
		}
	}
	if n < responseHeaderSize {
		r.t.Fatalf("reply of %d bytes is shorter than a header", n)
	}
	rep.tag = binary.LittleEndian.Uint32(buf[0:])
	rep.op = op(binary.LittleEndian.Uint16(buf[4:]))
	rep.errno = unix.Errno(binary.LittleEndian.Uint32(buf[8:]))
	rep.payload = buf[responseHeaderSize:n]
	return rep, true
}

// exchange sends pkt and returns the reply, closing any descriptor in it.
func (r *rawConn) exchange(pkt []byte) rawReply {
	r.t.Helper()
	r.send(pkt, nil)
	rep, ok := r.recv()
	if !ok {
		r.t.Fatalf("server hung up after request % x", pkt)
	}
	for _, fd := range rep.fds {
		_ = unix.Close(fd)
	}
	return rep
}

// buildRequest builds a request packet.
func buildRequest(tag uint32, o op, args func(e *encoder)) []byte {
	var e encoder
	e.requestHeader(tag, o)
	if args != nil {
		args(&e)
	}
	return e.buf
}

// listDir returns every entry of dir, with as many Getdents calls as it
// takes: one call may return fewer entries than fit, as getdents64 does
// when a signal (the Go runtime's preemption, in the gofer) arrives while
// it fills the buffer.
func listDir(c *Client, dir FID) ([]Dirent, error) {
	var all []Dirent
	for off := uint64(0); ; {
		ents, err := c.Getdents(dir, off, 4096)
		if err != nil || len(ents) == 0 {
			return all, err
		}
		all = append(all, ents...)
		off = ents[len(ents)-1].Off
	}
}
