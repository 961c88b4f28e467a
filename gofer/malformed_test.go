package gofer

import (
	"bytes"
	"encoding/binary"
	"os"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestMalformedRequests(t *testing.T) {
	root := testTree(t)
	r := newRawConn(t, root)

	// Attach, so FID 1 exists and "bad FID" means an unknown one.
	rep := r.exchange(buildRequest(1, opRoot, nil))
	if rep.errno != 0 || len(rep.payload) != 8+statWireSize {
		t.Fatalf("Root: errno %v, %d payload bytes", rep.errno, len(rep.payload))
	}
	rootFID := binary.LittleEndian.Uint64(rep.payload)

	hugeWalk := buildRequest(7, opWalk, func(e *encoder) {
		e.u64(rootFID)
		e.u16(MaxWalkNames + 1)
		for range MaxWalkNames + 1 {
			e.str("a")
		}
	})
	for _, tc := range []struct {
		name   string
		pkt    []byte
		wantOp op
		want   unix.Errno
	}{
		{"one byte", []byte{1}, opInvalid, unix.EINVAL},
		{"short header", []byte{1, 0, 0, 0, 2, 0}, opInvalid, unix.EINVAL},
		{"unknown op", buildRequest(2, numOps, nil), numOps, unix.EINVAL},
		{"op 0xffff", buildRequest(2, 0xffff, nil), 0xffff, unix.EINVAL},
		{"op zero", buildRequest(2, opInvalid, nil), opInvalid, unix.EINVAL},
		{"reserved set", append(buildRequest(2, opStat, nil)[:6], 1, 0, 1, 0, 0, 0, 0, 0, 0, 0), opStat, unix.EINVAL},
		{"root with trailing bytes", buildRequest(3, opRoot, func(e *encoder) { e.u8(0) }), opRoot, unix.EINVAL},
		{"stat short FID", buildRequest(3, opStat, func(e *encoder) { e.u32(1) }), opStat, unix.EINVAL},
		{"stat bad FID", buildRequest(3, opStat, func(e *encoder) { e.u64(999) }), opStat, unix.EBADF},
		{"stat FID 0", buildRequest(3, opStat, func(e *encoder) { e.u64(0) }), opStat, unix.EBADF},
		{"walk count past end", buildRequest(4, opWalk, func(e *encoder) {
			e.u64(rootFID)
			e.u16(3)
			e.str("a")
		}), opWalk, unix.EINVAL},
		{"walk name length past end", buildRequest(4, opWalk, func(e *encoder) {
			e.u64(rootFID)
			e.u16(1)
			e.u16(0xffff)
			e.buf = append(e.buf, "abc"...)
		}), opWalk, unix.EINVAL},
		{"walk too many names", hugeWalk, opWalk, unix.EINVAL},
		{"walk name too long", buildRequest(4, opWalk, func(e *encoder) {
			e.u64(rootFID)
			e.u16(1)
			e.str(string(bytes.Repeat([]byte{'x'}, 4000)))
		}), opWalk, unix.ENAMETOOLONG},
		{"walk bad FID", buildRequest(4, opWalk, func(e *encoder) {
			e.u64(12345)
			e.u16(1)
			e.str("a")
		}), opWalk, unix.EBADF},
		{"open bad FID", buildRequest(5, opOpen, func(e *encoder) { e.u64(77); e.u32(0) }), opOpen, unix.EBADF},
		{"open write", buildRequest(5, opOpen, func(e *encoder) { e.u64(rootFID); e.u32(unix.O_RDWR) }), opOpen, unix.EROFS},
		{"open all flags", buildRequest(5, opOpen, func(e *encoder) { e.u64(rootFID); e.u32(0xfffffffc) }), opOpen, unix.EROFS},
		{"getdents zero bytes", buildRequest(6, opGetdents, func(e *encoder) { e.u64(rootFID); e.u64(0); e.u32(0) }), opGetdents, unix.EINVAL},
		{"getdents huge", buildRequest(6, opGetdents, func(e *encoder) { e.u64(rootFID); e.u64(0); e.u32(0xffffffff) }), opGetdents, unix.EINVAL},
		{"getdents huge offset", buildRequest(6, opGetdents, func(e *encoder) { e.u64(rootFID); e.u64(1 << 63); e.u32(4096) }), opGetdents, unix.EINVAL},
		{"readlink of directory", buildRequest(8, opReadlink, func(e *encoder) { e.u64(rootFID) }), opReadlink, unix.EINVAL},
		{"statfs short", buildRequest(9, opStatFS, nil), opStatFS, unix.EINVAL},
		{"close huge count", buildRequest(10, opClose, func(e *encoder) { e.u32(0xffffffff); e.u64(5) }), opClose, unix.EINVAL},
		{"close count mismatch", buildRequest(10, opClose, func(e *encoder) { e.u32(2); e.u64(5) }), opClose, unix.EINVAL},
		{"close unknown", buildRequest(10, opClose, func(e *encoder) { e.u32(1); e.u64(5) }), opClose, unix.EBADF},
		{"oversized packet", append(buildRequest(11, opStat, nil), make([]byte, maxMessageSize)...), opStat, unix.EINVAL},
	} {
		rep := r.exchange(tc.pkt)
		if rep.errno != tc.want || rep.op != tc.wantOp {
			t.Errorf("%s: reply op %v errno %v, want op %v errno %v", tc.name, rep.op, rep.errno, tc.wantOp, tc.want)
		}
		if len(rep.fds) != 0 {
			t.Errorf("%s: reply carried descriptors", tc.name)
		}
		// Failed replies carry no results; Walk may carry an empty list.
		if len(rep.payload) != 0 && !(tc.wantOp == opWalk && len(rep.payload) == 2) {
			t.Errorf("%s: %d payload bytes in a failed reply", tc.name, len(rep.payload))
		}
	}

	// The tag is echoed.
	if rep := r.exchange(buildRequest(0xdeadbeef, opStat, func(e *encoder) { e.u64(rootFID) })); rep.tag != 0xdeadbeef || rep.errno != 0 {
		t.Errorf("Stat: tag %#x errno %v", rep.tag, rep.errno)
	}
}

// TestMalformedWriteRequests is TestMalformedRequests for the operations
// that modify a tree and the extended attribute operations, on a
// read-write tree.
func TestMalformedWriteRequests(t *testing.T) {
	root := testTree(t)
	r := newRawConnTrees(t, []Tree{{Name: "", Path: root}, {Name: "ro", Path: root, ReadOnly: true}})
	rep := r.exchange(buildRequest(1, opRoot, nil))
	if rep.errno != 0 {
		t.Fatalf("Root: %v", rep.errno)
	}
	rootFID := binary.LittleEndian.Uint64(rep.payload)
	rep = r.exchange(buildRequest(1, opWalk, func(e *encoder) { e.u64(rootFID); e.u16(1); e.str("file.txt") }))
	if rep.errno != 0 {
		t.Fatalf("Walk: %v", rep.errno)
	}
	fileFID := binary.LittleEndian.Uint64(rep.payload[2:])
	long := string(bytes.Repeat([]byte{'x'}, MaxNameLen+1))
	huge := string(bytes.Repeat([]byte{'x'}, 0xffff))

	type tc struct {
		name string
		pkt  []byte
		want unix.Errno
	}
	cases := []tc{
		{"attach short", buildRequest(2, opAttach, func(e *encoder) { e.u8(1) }), unix.EINVAL},
		{"attach string past end", buildRequest(2, opAttach, func(e *encoder) { e.u16(5); e.u8('r') }), unix.EINVAL},
		{"attach long", buildRequest(2, opAttach, func(e *encoder) { e.str(long) }), unix.ENAMETOOLONG},
		{"attach unknown", buildRequest(2, opAttach, func(e *encoder) { e.str("none") }), unix.ENOENT},
		{"attach trailing", buildRequest(2, opAttach, func(e *encoder) { e.str("ro"); e.u8(0) }), unix.EINVAL},

		{"create short", buildRequest(3, opCreate, func(e *encoder) { e.u64(rootFID); e.str("n"); e.u32(2); e.u32(0o644) }), unix.EINVAL},
		{"create trailing", buildRequest(3, opCreate, func(e *encoder) {
			e.u64(rootFID)
			e.str("n")
			e.u32(2)
			e.u32(0o644)
			e.u32(0)
			e.u32(0)
			e.u8(0)
		}), unix.EINVAL},
		{"create all flags", buildRequest(3, opCreate, func(e *encoder) {
			e.u64(rootFID)
			e.str("n")
			e.u32(0xffffffff)
			e.u32(0o644)
			e.u32(0)
			e.u32(0)
		}), unix.EINVAL},
		{"create huge name", buildRequest(3, opCreate, func(e *encoder) {
			e.u64(rootFID)
			e.str(huge)
			e.u32(2)
			e.u32(0o644)
			e.u32(0)
			e.u32(0)
		}), unix.ENAMETOOLONG},
		{"create bad mode", buildRequest(3, opCreate, func(e *encoder) {
			e.u64(rootFID)
			e.str("n")
			e.u32(2)
			e.u32(0xffffffff)
			e.u32(0)
			e.u32(0)
		}), unix.EINVAL},
		{"create bad FID", buildRequest(3, opCreate, func(e *encoder) {
			e.u64(999)
			e.str("n")
			e.u32(2)
			e.u32(0o644)
			e.u32(0)
			e.u32(0)
		}), unix.EBADF},
		{"create in file", buildRequest(3, opCreate, func(e *encoder) {
			e.u64(fileFID)
			e.str("n")
			e.u32(2)
			e.u32(0o644)
			e.u32(0)
			e.u32(0)
		}), unix.ENOTDIR},
		{"mkdir short", buildRequest(4, opMkdir, func(e *encoder) { e.u64(rootFID); e.str("n"); e.u32(0o755) }), unix.EINVAL},
		{"mkdir dotdot", buildRequest(4, opMkdir, func(e *encoder) { e.u64(rootFID); e.str(".."); e.u32(0o755); e.u32(0); e.u32(0) }), unix.EINVAL},
		{"mknod short", buildRequest(5, opMknod, func(e *encoder) { e.u64(rootFID); e.str("n") }), unix.EINVAL},
		{"mknod device", buildRequest(5, opMknod, func(e *encoder) {
			e.u64(rootFID)
			e.str("n")
			e.u32(unix.S_IFCHR | 0o666)
			e.u32(0)
			e.u32(0)
		}), unix.EPERM},
		{"symlink short", buildRequest(6, opSymlink, func(e *encoder) { e.u64(rootFID); e.str("n"); e.str("t"); e.u32(0) }), unix.EINVAL},
		{"symlink target past end", buildRequest(6, opSymlink, func(e *encoder) { e.u64(rootFID); e.str("n"); e.u16(100); e.u32(0); e.u32(0) }), unix.EINVAL},
		{"symlink huge target", buildRequest(6, opSymlink, func(e *encoder) { e.u64(rootFID); e.str("n"); e.str(huge); e.u32(0); e.u32(0) }), unix.ENAMETOOLONG},
		{"link short", buildRequest(7, opLink, func(e *encoder) { e.u64(rootFID); e.str("n"); e.u32(1) }), unix.EINVAL},
		{"link bad target", buildRequest(7, opLink, func(e *encoder) { e.u64(rootFID); e.str("n"); e.u64(999) }), unix.EBADF},
		{"unlink short", buildRequest(8, opUnlink, func(e *encoder) { e.u64(rootFID); e.str("n") }), unix.EINVAL},
		{"unlink bad flags", buildRequest(8, opUnlink, func(e *encoder) { e.u64(rootFID); e.str("file.txt"); e.u32(0xffffffff) }), unix.EINVAL},
		{"rename short", buildRequest(9, opRename, func(e *encoder) { e.u64(rootFID); e.str("a"); e.u64(rootFID); e.str("b") }), unix.EINVAL},
		{"rename whiteout", buildRequest(9, opRename, func(e *encoder) {
			e.u64(rootFID)
			e.str("file.txt")
			e.u64(rootFID)
			e.str("b")
			e.u32(unix.RENAME_WHITEOUT)
		}), unix.EINVAL},
		{"rename bad new dir", buildRequest(9, opRename, func(e *encoder) {
			e.u64(rootFID)
			e.str("file.txt")
			e.u64(999)
			e.str("b")
			e.u32(0)
		}), unix.EBADF},
		{"setattr short", buildRequest(10, opSetAttr, func(e *encoder) { e.u64(fileFID); e.u32(unix.STATX_MODE); e.u32(0o600) }), unix.EINVAL},
		{"setattr bad mask", buildRequest(10, opSetAttr, func(e *encoder) {
			e.u64(fileFID)
			e.u32(0xffffffff)
			e.buf = append(e.buf, make([]byte, setAttrWireSize-4)...)
		}), unix.EINVAL},
		{"getxattr short", buildRequest(11, opGetxattr, func(e *encoder) { e.u64(fileFID); e.str("user.x") }), unix.EINVAL},
		{"getxattr huge size", buildRequest(11, opGetxattr, func(e *encoder) { e.u64(fileFID); e.str("user.x"); e.u32(0xffffffff) }), unix.EINVAL},
		{"getxattr long name", buildRequest(11, opGetxattr, func(e *encoder) { e.u64(fileFID); e.str("user." + long); e.u32(10) }), unix.ERANGE},
		{"getxattr empty name", buildRequest(11, opGetxattr, func(e *encoder) { e.u64(fileFID); e.str(""); e.u32(10) }), unix.ERANGE},
		{"getxattr NUL in name", buildRequest(11, opGetxattr, func(e *encoder) { e.u64(fileFID); e.str("user.a\x00b"); e.u32(10) }), unix.EINVAL},
		{"setxattr value past end", buildRequest(12, opSetxattr, func(e *encoder) {
			e.u64(fileFID)
			e.str("user.x")
			e.u32(0xffffffff)
			e.u8(1)
			e.u32(0)
		}), unix.EINVAL},
		{"setxattr value too big", buildRequest(12, opSetxattr, func(e *encoder) {
			e.u64(fileFID)
			e.str("user.x")
			e.bytes32(make([]byte, MaxXattrValueLen+1))
			e.u32(0)
		}), unix.E2BIG},
		{"setxattr no flags", buildRequest(12, opSetxattr, func(e *encoder) { e.u64(fileFID); e.str("user.x"); e.bytes32([]byte("v")) }), unix.EINVAL},
		{"setxattr bad flags", buildRequest(12, opSetxattr, func(e *encoder) {
			e.u64(fileFID)
			e.str("user.x")
			e.bytes32([]byte("v"))
			e.u32(0xff)
		}), unix.EINVAL},
		{"listxattr short", buildRequest(13, opListxattr, func(e *encoder) { e.u64(fileFID) }), unix.EINVAL},
		{"listxattr huge size", buildRequest(13, opListxattr, func(e *encoder) { e.u64(fileFID); e.u32(MaxXattrListLen + 1) }), unix.EINVAL},
		{"listxattr bad FID", buildRequest(13, opListxattr, func(e *encoder) { e.u64(999); e.u32(10) }), unix.EBADF},
		{"removexattr short", buildRequest(14, opRemovexattr, func(e *encoder) { e.u64(fileFID) }), unix.EINVAL},
		{"removexattr trailing", buildRequest(14, opRemovexattr, func(e *encoder) { e.u64(fileFID); e.str("user.x"); e.u8(0) }), unix.EINVAL},
	}
	// Every new op with no arguments at all (Connect takes none), and
	// with one byte.
	for o := opAttach; o < numOps; o++ {
		if o != opConnect {
			cases = append(cases, tc{o.String() + " empty", buildRequest(20, o, nil), unix.EINVAL})
		}
		cases = append(cases, tc{o.String() + " one byte", buildRequest(20, o, func(e *encoder) { e.u8(1) }), unix.EINVAL})
	}
	for _, c := range cases {
		wantOp := op(binary.LittleEndian.Uint16(c.pkt[4:]))
		rep := r.exchange(c.pkt)
		if rep.errno != c.want || rep.op != wantOp {
			t.Errorf("%s: reply op %v errno %v, want op %v errno %v", c.name, rep.op, rep.errno, wantOp, c.want)
		}
		if len(rep.fds) != 0 || len(rep.payload) != 0 {
			t.Errorf("%s: failed reply carried %d descriptors, %d bytes", c.name, len(rep.fds), len(rep.payload))
		}
	}
	// Nothing was created by any of them.
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 4 {
		t.Errorf("tree now has %d entries, want the 4 of testTree", len(entries))
	}
}

// TestDescriptorsSentToServerDropped checks that a client cannot stuff the
// server's descriptor table by attaching descriptors to requests: the kernel
// discards them, and the server refuses the request.
func TestDescriptorsSentToServerDropped(t *testing.T) {
	root := testTree(t)
	r := newRawConn(t, root)
	f, err := os.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	before := countOpenFDs(t)
	for range 50 {
		r.send(buildRequest(1, opRoot, nil), unix.UnixRights(int(f.Fd()), int(f.Fd()), int(f.Fd())))
		if rep, ok := r.recv(); !ok || rep.errno != unix.EINVAL {
			t.Fatalf("Root with descriptors attached: %v, %v; want EINVAL", rep.errno, ok)
		}
	}
	if after := countOpenFDs(t); after > before+2 {
		t.Errorf("open descriptors grew from %d to %d", before, after)
	}
	if rep := r.exchange(buildRequest(2, opRoot, nil)); rep.errno != 0 {
		t.Errorf("Root without descriptors: %v", rep.errno)
	}
}

func countOpenFDs(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	return len(entries)
}

// fdCountDownTo returns countOpenFDs once it is at most want, or after
// 5 s: a tree-socket connection is closed by its server goroutine just
// after the reply went out, which the test can see first. A descriptor
// that leaks stays open, and the count stays above want.
func fdCountDownTo(t *testing.T, want int) int {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		n := countOpenFDs(t)
		if n <= want || time.Now().After(deadline) {
			return n
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// settledFDCount is countOpenFDs once the files earlier tests dropped
// without closing are closed: a collection queues their finalizers, which
// close them, and one that ran in the middle of a test comparing counts
// for equality made a descriptor vanish from under it (CI saw 11 before,
// 10 after). It waits for a finalizer queued after theirs, twice.
func settledFDCount(t *testing.T) int {
	t.Helper()
	for range 2 {
		runtime.GC()
		done := make(chan struct{})
		sentinel := new([16]byte)
		runtime.SetFinalizer(sentinel, func(*[16]byte) { close(done) })
		sentinel = nil
		runtime.GC()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
		}
	}
	return countOpenFDs(t)
}

// FuzzServe sends arbitrary packets to a server and checks that it answers
// each with a well-formed reply (or hangs up, for an empty packet) and stays
// usable. `go test` runs the seeds; `go test -fuzz FuzzServe` explores.
func FuzzServe(f *testing.F) {
	root := testTree(f)
	// The tree is served read-write (and again read-only as "ro") so that
	// the modifying operations are explored too.
	trees := []Tree{{Name: "", Path: root}, {Name: "ro", Path: root, ReadOnly: true}}
	seeds := [][]byte{
		nil,
		{0},
		buildRequest(1, opRoot, nil),
		buildRequest(1, opStat, func(e *encoder) { e.u64(1) }),
		buildRequest(1, opWalk, func(e *encoder) { e.u64(1); e.u16(3); e.str("a"); e.str("b"); e.str("c.txt") }),
		buildRequest(1, opWalk, func(e *encoder) { e.u64(1); e.u16(2); e.str("link-to-a"); e.str("b") }),
		buildRequest(1, opWalk, func(e *encoder) { e.u64(1); e.u16(1); e.str("..") }),
		buildRequest(1, opWalk, func(e *encoder) { e.u64(1); e.u16(0xffff) }),
		buildRequest(1, opOpen, func(e *encoder) { e.u64(1); e.u32(unix.O_DIRECTORY) }),
		buildRequest(1, opGetdents, func(e *encoder) { e.u64(1); e.u64(0); e.u32(100) }),
		buildRequest(1, opReadlink, func(e *encoder) { e.u64(1) }),
		buildRequest(1, opStatFS, func(e *encoder) { e.u64(1) }),
		buildRequest(1, opClose, func(e *encoder) { e.u32(1); e.u64(1) }),
		buildRequest(1, opClose, func(e *encoder) { e.u32(0x7fffffff) }),
		buildRequest(1, opAttach, func(e *encoder) { e.str("ro") }),
		buildRequest(1, opCreate, func(e *encoder) {
			e.u64(1)
			e.str("n")
			e.u32(2)
			e.u32(0o644)
			e.u32(0)
			e.u32(0)
		}),
		buildRequest(1, opMkdir, func(e *encoder) { e.u64(1); e.str("d"); e.u32(0o755); e.u32(0); e.u32(0) }),
		buildRequest(1, opMknod, func(e *encoder) { e.u64(1); e.str("p"); e.u32(unix.S_IFIFO | 0o644); e.u32(0); e.u32(0) }),
		buildRequest(1, opSymlink, func(e *encoder) { e.u64(1); e.str("s"); e.str("../x"); e.u32(0); e.u32(0) }),
		buildRequest(1, opLink, func(e *encoder) { e.u64(1); e.str("l"); e.u64(1) }),
		buildRequest(1, opUnlink, func(e *encoder) { e.u64(1); e.str("n"); e.u32(0) }),
		buildRequest(1, opRename, func(e *encoder) { e.u64(1); e.str("n"); e.u64(1); e.str("m"); e.u32(unix.RENAME_NOREPLACE) }),
		buildRequest(1, opSetAttr, func(e *encoder) {
			e.u64(1)
			e.u32(unix.STATX_MTIME)
			e.buf = append(e.buf, make([]byte, setAttrWireSize-4)...)
		}),
		buildRequest(1, opGetxattr, func(e *encoder) { e.u64(1); e.str("user.x"); e.u32(100) }),
		buildRequest(1, opSetxattr, func(e *encoder) { e.u64(1); e.str("user.x"); e.bytes32([]byte("v")); e.u32(0) }),
		buildRequest(1, opListxattr, func(e *encoder) { e.u64(1); e.u32(100) }),
		buildRequest(1, opRemovexattr, func(e *encoder) { e.u64(1); e.str("user.x") }),
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, pkt []byte) {
		if len(pkt) > maxMessageSize+1 {
			pkt = pkt[:maxMessageSize+1]
		}
		r := newRawConnTrees(t, trees)
		// Attach first so that small FIDs name something.
		if rep := r.exchange(buildRequest(1, opRoot, nil)); rep.errno != 0 {
			t.Fatalf("Root: %v", rep.errno)
		}

		r.send(pkt, nil)
		rep, ok := r.recv()
		if !ok {
			if len(pkt) != 0 {
				t.Fatalf("server hung up after a %d-byte packet", len(pkt))
			}
			return // an empty packet reads as a hang-up
		}
		for _, fd := range rep.fds {
			unix.Close(fd)
		}
		if len(pkt) >= requestHeaderSize {
			if rep.tag != binary.LittleEndian.Uint32(pkt) || uint16(rep.op) != binary.LittleEndian.Uint16(pkt[4:]) {
				t.Errorf("reply tag %#x op %d does not echo the request", rep.tag, rep.op)
			}
		}
		if len(rep.fds) > 0 && (rep.op != opOpen && rep.op != opCreate || rep.errno != 0) {
			t.Errorf("descriptor attached to a %v reply with errno %v", rep.op, rep.errno)
		}

		// Still serving: attach again and stat the new root FID.
		rep = r.exchange(buildRequest(2, opRoot, nil))
		if rep.errno != 0 || len(rep.payload) != 8+statWireSize {
			t.Fatalf("Root after fuzz packet: errno %v, %d bytes", rep.errno, len(rep.payload))
		}
		fid := binary.LittleEndian.Uint64(rep.payload)
		if rep := r.exchange(buildRequest(3, opStat, func(e *encoder) { e.u64(fid) })); rep.errno != 0 {
			t.Fatalf("Stat after fuzz packet: %v", rep.errno)
		}
	})
}
