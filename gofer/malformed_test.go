package gofer

import (
	"bytes"
	"encoding/binary"
	"os"
	"testing"

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

// FuzzServe sends arbitrary packets to a server and checks that it answers
// each with a well-formed reply (or hangs up, for an empty packet) and stays
// usable. `go test` runs the seeds; `go test -fuzz FuzzServe` explores.
func FuzzServe(f *testing.F) {
	root := testTree(f)
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
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, pkt []byte) {
		if len(pkt) > maxMessageSize+1 {
			pkt = pkt[:maxMessageSize+1]
		}
		r := newRawConn(t, root)
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
		if len(rep.fds) > 0 && (rep.op != opOpen || rep.errno != 0) {
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
