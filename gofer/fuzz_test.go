package gofer

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

// Fuzz targets for both directions of the wire protocol. FuzzServe (in
// malformed_test.go) sends one packet over a real socket; the targets here
// drive the request decoder with whole sequences of packets, so that FIDs a
// request creates are used by the next ones, and feed the client's reply
// decoders with whatever a broken or hostile gofer could send. `go test`
// runs the seeds; `go test -fuzz '^FuzzX$'` explores.

// maxRequestAlloc bounds what the server may allocate for one request. Its
// reply and scratch buffers are allocated once per connection, so a request
// needs only small, bounded amounts (a Walk's 256 names, a Close's FIDs); a
// count or size trusted from the packet would show up far above this.
const maxRequestAlloc = 4 << 20

// appendPacket frames pkt for FuzzHandleRequests: a little-endian uint16
// length, then the packet.
func appendPacket(seq, pkt []byte) []byte {
	seq = binary.LittleEndian.AppendUint16(seq, uint16(len(pkt)))
	return append(seq, pkt...)
}

// splitPackets undoes appendPacket; a length past the end takes what is
// left, so every input is some sequence.
func splitPackets(data []byte) [][]byte {
	var pkts [][]byte
	for len(data) >= 2 && len(pkts) < 32 {
		n := min(int(binary.LittleEndian.Uint16(data)), len(data)-2)
		pkts = append(pkts, data[2:2+n])
		data = data[2+n:]
	}
	return pkts
}

// fuzzTree makes base/root with the layout of testTree plus a symlink
// pointing out of it, and base/outside, a decoy that no request may reach.
func fuzzTree(t testing.TB) (base, root string) {
	t.Helper()
	base = t.TempDir()
	root = filepath.Join(base, "root")
	mustMkdirAll(t, filepath.Join(root, "a", "b"))
	mustMkdirAll(t, filepath.Join(root, "empty"))
	mustWriteFile(t, filepath.Join(root, "a", "b", "c.txt"), testFileContent)
	mustWriteFile(t, filepath.Join(root, "file.txt"), testFileContent)
	mustSymlink(t, "a", filepath.Join(root, "link-to-a"))
	mustSymlink(t, "../outside", filepath.Join(root, "escape"))
	mustMkdirAll(t, filepath.Join(base, "outside", "dir"))
	mustWriteFile(t, filepath.Join(base, "outside", "secret"), "do not touch\n")
	return base, root
}

// fileState is what a test records of a file to notice any change to it.
type fileState struct {
	mode, uid, gid uint32
	nlink          uint64
	size           int64
	mtime          unix.Timespec
	content        string
	xattrs         string
}

// snapshotOutside records every file under base except base/root, without
// following symlinks.
func snapshotOutside(t testing.TB, base string) map[string]fileState {
	t.Helper()
	out := map[string]fileState{}
	err := filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == filepath.Join(base, "root") {
			return filepath.SkipDir
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		s := fileState{mode: st.Mode, uid: st.Uid, gid: st.Gid, nlink: st.Nlink, size: st.Size, mtime: st.Mtim}
		if st.Mode&unix.S_IFMT == unix.S_IFREG {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			s.content = string(b)
		}
		buf := make([]byte, 4096)
		if n, err := unix.Llistxattr(p, buf); err == nil {
			s.xattrs = string(buf[:n])
		}
		out[p] = s
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", base, err)
	}
	return out
}

// checkConfined fails the test if anything under base outside base/root
// changed since before, if root holds a device node, or if a file in root
// has a hard link outside it.
func checkConfined(t testing.TB, base string, before map[string]fileState, allowWhiteouts bool) {
	t.Helper()
	after := snapshotOutside(t, base)
	for p, s := range before {
		if a, ok := after[p]; !ok {
			t.Errorf("%s was removed", p)
		} else if a != s {
			t.Errorf("%s changed: %+v, was %+v", p, a, s)
		}
	}
	for p := range after {
		if _, ok := before[p]; !ok {
			t.Errorf("%s was created outside the root", p)
		}
	}
	root := filepath.Join(base, "root")
	var st unix.Stat_t
	if err := unix.Lstat(root, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR {
		t.Fatalf("the root is no longer a directory (mode %#o, %v)", st.Mode, err)
	}
	type inode struct{ dev, ino uint64 }
	links := map[inode]uint64{}
	nlink := map[inode]uint64{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFCHR:
			if !allowWhiteouts || st.Rdev != 0 {
				t.Errorf("%s: character device %d:%d", p, unix.Major(st.Rdev), unix.Minor(st.Rdev))
			}
		case unix.S_IFBLK:
			t.Errorf("%s: block device", p)
		case unix.S_IFDIR:
			return nil
		}
		k := inode{st.Dev, st.Ino}
		links[k]++
		nlink[k] = st.Nlink
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", root, err)
	}
	for k, n := range links {
		if n != nlink[k] {
			t.Errorf("inode %d has %d links but %d of them in the root", k.ino, nlink[k], n)
		}
	}
}

func totalAlloc() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.TotalAlloc
}

// FuzzHandleRequests decodes and serves a sequence of requests on one
// connection to a read-write tree and checks every reply's framing, that
// descriptors are donated only by successful opens, that the connection
// leaks no descriptors and allocates boundedly, and that nothing outside
// the tree changed.
func FuzzHandleRequests(f *testing.F) {
	walk := func(dir uint64, names ...string) []byte {
		return buildRequest(2, opWalk, func(e *encoder) {
			e.u64(dir)
			e.u16(uint16(len(names)))
			for _, n := range names {
				e.str(n)
			}
		})
	}
	root := buildRequest(1, opRoot, nil)
	seeds := [][][]byte{
		{root},
		{root, walk(1, "a", "b", "c.txt"), buildRequest(3, opOpen, func(e *encoder) { e.u64(4); e.u32(unix.O_RDWR | unix.O_TRUNC) })},
		{root, walk(1, "escape", "secret")},
		{root, walk(1, "escape"), buildRequest(3, opReadlink, func(e *encoder) { e.u64(2) }),
			buildRequest(4, opOpen, func(e *encoder) { e.u64(2); e.u32(unix.O_RDONLY) })},
		{root, walk(1, "escape"), buildRequest(3, opCreate, func(e *encoder) {
			e.u64(2)
			e.str("x")
			e.u32(unix.O_RDWR)
			e.u32(0o644)
			e.u32(0)
			e.u32(0)
		})},
		{root, walk(1, "escape"), buildRequest(3, opSetAttr, func(e *encoder) {
			e.u64(2)
			e.u32(unix.STATX_MODE | unix.STATX_UID | unix.STATX_MTIME)
			e.u32(0o777)
			e.u32(1234)
			e.u32(1234)
			e.u64(0)
			e.timespec(unix.Timespec{})
			e.timespec(unix.Timespec{Sec: 1})
		})},
		{root, walk(1, "escape"), buildRequest(3, opSetxattr, func(e *encoder) {
			e.u64(2)
			e.str("user.x")
			e.bytes32([]byte("v"))
			e.u32(0)
		})},
		{root, walk(1, "escape"), buildRequest(3, opLink, func(e *encoder) { e.u64(1); e.str("hard"); e.u64(2) })},
		{root, buildRequest(3, opRename, func(e *encoder) { e.u64(1); e.str("escape"); e.u64(1); e.str("moved"); e.u32(0) })},
		{root, buildRequest(3, opSymlink, func(e *encoder) { e.u64(1); e.str("abs"); e.str("/tmp"); e.u32(0); e.u32(0) }),
			walk(1, "abs", "x"), buildRequest(4, opMkdir, func(e *encoder) { e.u64(2); e.str("d"); e.u32(0o755); e.u32(0); e.u32(0) })},
		{root, buildRequest(3, opMknod, func(e *encoder) { e.u64(1); e.str("dev"); e.u32(unix.S_IFBLK | 0o600); e.u32(0); e.u32(0) }),
			buildRequest(3, opMknod, func(e *encoder) { e.u64(1); e.str("fifo"); e.u32(unix.S_IFIFO | 0o600); e.u32(0); e.u32(0) }),
			walk(1, "fifo"), buildRequest(4, opOpen, func(e *encoder) { e.u64(3); e.u32(unix.O_RDONLY) })},
		{root, buildRequest(3, opRename, func(e *encoder) {
			e.u64(1)
			e.str("file.txt")
			e.u64(1)
			e.str("nf")
			e.u32(unix.RENAME_WHITEOUT)
		})},
		{root, buildRequest(3, opMkdir, func(e *encoder) { e.u64(1); e.str("d"); e.u32(0o755); e.u32(0); e.u32(0) }),
			buildRequest(4, opCreateTmpfile, func(e *encoder) { e.u64(2); e.u32(unix.O_RDWR); e.u32(0o600); e.u32(0); e.u32(0) }),
			buildRequest(5, opLink, func(e *encoder) { e.u64(2); e.str("t"); e.u64(3) }),
			buildRequest(6, opUnlink, func(e *encoder) { e.u64(1); e.str("d"); e.u32(unix.AT_REMOVEDIR) })},
		{root, buildRequest(3, opGetdents, func(e *encoder) { e.u64(1); e.u64(0); e.u32(MaxGetdentsBytes) }),
			buildRequest(4, opGetdents, func(e *encoder) { e.u64(1); e.u64(1 << 62); e.u32(19) })},
		{root, buildRequest(3, opListxattr, func(e *encoder) { e.u64(1); e.u32(MaxXattrListLen) }),
			buildRequest(4, opGetxattr, func(e *encoder) { e.u64(1); e.str("user.x"); e.u32(MaxXattrValueLen) })},
		{root, buildRequest(3, opClose, func(e *encoder) { e.u32(2); e.u64(1); e.u64(1) }), buildRequest(4, opStat, func(e *encoder) { e.u64(1) })},
		{buildRequest(1, opAttach, func(e *encoder) { e.str("ro") }), buildRequest(2, opMkdir, func(e *encoder) {
			e.u64(1)
			e.str("d")
			e.u32(0o755)
			e.u32(0)
			e.u32(0)
		})},
		{root, buildRequest(2, opWalk, func(e *encoder) {
			e.u64(1)
			e.u16(MaxWalkNames)
			for range MaxWalkNames {
				e.str("a")
			}
		})},
		{{}, {1, 2, 3}, buildRequest(1, opInvalid, nil), buildRequest(1, 0xffff, nil)},
	}
	for _, s := range seeds {
		var seq []byte
		for _, p := range s {
			seq = appendPacket(seq, p)
		}
		f.Add(seq)
	}

	f.Fuzz(func(t *testing.T, data []byte) {
		base, root := fuzzTree(t)
		before := snapshotOutside(t, base)
		fdsBefore := settledFDCount(t)

		s, err := newServerTrees([]Tree{{Name: "", Path: root}, {Name: "ro", Path: root, ReadOnly: true}})
		if err != nil {
			t.Fatal(err)
		}
		r := &request{
			reply:     encoder{buf: make([]byte, 0, maxMessageSize)},
			direntBuf: make([]byte, maxDirentBytes),
			linkBuf:   make([]byte, maxLinkTarget+1),
			xattrBuf:  make([]byte, max(MaxXattrValueLen, MaxXattrListLen)),
		}
		for _, pkt := range splitPackets(data) {
			allocBefore := totalAlloc()
			s.handle(r, pkt, false)
			if a := totalAlloc() - allocBefore; a > maxRequestAlloc {
				t.Errorf("request % .32x allocated %d bytes", pkt, a)
			}
			checkReply(t, pkt, r.reply.buf, r.donatedFD)
			if r.donatedFD >= 0 {
				_ = unix.Close(r.donatedFD)
			}
		}
		s.shutdown()

		if fds := settledFDCount(t); fds != fdsBefore {
			t.Errorf("%d descriptors open after the connection ended, %d before", fds, fdsBefore)
		}
		checkConfined(t, base, before, false)
	})
}

// checkReply checks the framing of a server's reply to pkt.
func checkReply(t *testing.T, pkt, reply []byte, donatedFD int) {
	t.Helper()
	if len(reply) < responseHeaderSize || len(reply) > maxMessageSize {
		t.Fatalf("reply of %d bytes", len(reply))
	}
	tag := binary.LittleEndian.Uint32(reply)
	o := op(binary.LittleEndian.Uint16(reply[4:]))
	errno := unix.Errno(binary.LittleEndian.Uint32(reply[responseErrnoOffset:]))
	if len(pkt) >= requestHeaderSize && (tag != binary.LittleEndian.Uint32(pkt) || uint16(o) != binary.LittleEndian.Uint16(pkt[4:])) {
		t.Errorf("reply tag %#x op %d does not echo the request's", tag, o)
	}
	if reserved := binary.LittleEndian.Uint16(reply[6:]); reserved != 0 {
		t.Errorf("reply reserved field %#x", reserved)
	}
	payload := reply[responseHeaderSize:]
	if errno != 0 {
		// Walk alone reports what it walked before failing.
		if len(payload) != 0 && o != opWalk {
			t.Errorf("%v failed with %v but carried %d bytes", o, errno, len(payload))
		}
		if donatedFD >= 0 {
			t.Errorf("%v failed with %v but donated a descriptor", o, errno)
		}
		return
	}
	wantsFD := o == opOpen || o == opCreate || o == opCreateTmpfile
	if wantsFD != (donatedFD >= 0) {
		t.Errorf("successful %v reply with descriptor %d", o, donatedFD)
	}
}

// clientCall is one Client method called with fixed, valid arguments, and
// checks of what it returned that hold whatever the server sent.
type clientCall struct {
	name string
	call func(t *testing.T, c *Client) error
}

// fdResult checks and closes the descriptor a call returned.
func fdResult(t *testing.T, fd int, err error) error {
	t.Helper()
	if err == nil {
		if fd < 0 {
			t.Errorf("success with descriptor %d", fd)
		} else if err := unix.Close(fd); err != nil {
			t.Errorf("returned descriptor %d: close: %v", fd, err)
		}
	} else if fd != -1 {
		t.Errorf("error %v with descriptor %d", err, fd)
	}
	return err
}

var clientCalls = []clientCall{
	{"Root", func(t *testing.T, c *Client) error { _, _, err := c.Root(); return err }},
	{"Attach", func(t *testing.T, c *Client) error { _, _, err := c.Attach("ro"); return err }},
	{"Walk", func(t *testing.T, c *Client) error {
		names := []string{"a", "b", "c.txt"}
		fids, stats, err := c.Walk(1, names)
		if len(fids) != len(stats) || len(fids) > len(names) {
			t.Errorf("Walk of %d names: %d FIDs, %d Stats", len(names), len(fids), len(stats))
		}
		return err
	}},
	{"Stat", func(t *testing.T, c *Client) error { _, err := c.Stat(1); return err }},
	{"Open", func(t *testing.T, c *Client) error {
		fd, err := c.Open(1, unix.O_RDONLY)
		return fdResult(t, fd, err)
	}},
	{"Getdents", func(t *testing.T, c *Client) error {
		ents, err := c.Getdents(1, 0, 4096)
		if err != nil && ents != nil {
			t.Errorf("Getdents: %d entries with error %v", len(ents), err)
		}
		return err
	}},
	{"Readlink", func(t *testing.T, c *Client) error { _, err := c.Readlink(1); return err }},
	{"StatFS", func(t *testing.T, c *Client) error { _, err := c.StatFS(1); return err }},
	{"Close", func(t *testing.T, c *Client) error { return c.Close(1, 2, 3) }},
	{"Create", func(t *testing.T, c *Client) error {
		_, _, fd, err := c.Create(1, "n", unix.O_RDWR, 0o644, 0, 0)
		return fdResult(t, fd, err)
	}},
	{"Mkdir", func(t *testing.T, c *Client) error { _, _, err := c.Mkdir(1, "d", 0o755, 0, 0); return err }},
	{"Mknod", func(t *testing.T, c *Client) error {
		_, _, err := c.Mknod(1, "p", unix.S_IFIFO|0o644, 0, 0)
		return err
	}},
	{"Symlink", func(t *testing.T, c *Client) error { _, _, err := c.Symlink(1, "s", "t", 0, 0); return err }},
	{"Link", func(t *testing.T, c *Client) error { _, err := c.Link(1, "l", 2); return err }},
	{"Unlink", func(t *testing.T, c *Client) error { return c.Unlink(1, "n", 0) }},
	{"Rename", func(t *testing.T, c *Client) error { return c.Rename(1, "a", 1, "b", 0) }},
	{"SetAttr", func(t *testing.T, c *Client) error {
		_, err := c.SetAttr(1, SetAttrArgs{Mask: unix.STATX_MODE, Mode: 0o600})
		return err
	}},
	{"Getxattr size", func(t *testing.T, c *Client) error {
		v, n, err := c.Getxattr(1, "user.x", 0)
		if err == nil && (v != nil || n < 0 || n > MaxXattrValueLen) {
			t.Errorf("Getxattr of the size: %d bytes, length %d", len(v), n)
		}
		return err
	}},
	{"Getxattr", func(t *testing.T, c *Client) error {
		const size = 100
		v, n, err := c.Getxattr(1, "user.x", size)
		if err == nil && (len(v) > size || n != len(v)) {
			t.Errorf("Getxattr into %d bytes: %d bytes, length %d", size, len(v), n)
		}
		return err
	}},
	{"Setxattr", func(t *testing.T, c *Client) error { return c.Setxattr(1, "user.x", []byte("v"), 0) }},
	{"Listxattr size", func(t *testing.T, c *Client) error {
		names, n, err := c.Listxattr(1, 0)
		if err == nil && (names != nil || n < 0 || n > MaxXattrListLen) {
			t.Errorf("Listxattr of the size: %d names, length %d", len(names), n)
		}
		return err
	}},
	{"Listxattr", func(t *testing.T, c *Client) error {
		const size = 100
		names, n, err := c.Listxattr(1, size)
		if err == nil {
			total := 0
			for _, name := range names {
				if bytes.IndexByte([]byte(name), 0) >= 0 {
					t.Errorf("Listxattr name %q holds a NUL", name)
				}
				total += len(name) + 1
			}
			if n > size || total != n {
				t.Errorf("Listxattr into %d bytes: names of %d bytes, length %d", size, total, n)
			}
		}
		return err
	}},
	{"Removexattr", func(t *testing.T, c *Client) error { return c.Removexattr(1, "user.x") }},
	{"CreateTmpfile", func(t *testing.T, c *Client) error {
		_, _, fd, err := c.CreateTmpfile(1, unix.O_RDWR, 0o600, 0, 0)
		return fdResult(t, fd, err)
	}},
}

// FuzzClientReplies answers a client call with arbitrary bytes, optionally
// with the request's tag and op patched in (so that the results are
// decoded) and a descriptor attached, and checks that the client neither
// panics nor leaks the descriptor, returns sane results, and stays broken
// after a reply it could not make sense of.
func FuzzClientReplies(f *testing.F) {
	reply := func(o op, errno unix.Errno, results func(e *encoder)) []byte {
		var e encoder
		e.responseHeader(0, o, errno)
		if results != nil {
			results(&e)
		}
		return e.buf
	}
	var st Stat
	f.Add(uint8(0), true, false, reply(opRoot, 0, func(e *encoder) { e.u64(1); e.stat(&st) }))
	f.Add(uint8(2), true, false, reply(opWalk, 0, func(e *encoder) { e.u16(1); e.u64(2); e.stat(&st) }))
	f.Add(uint8(2), true, false, reply(opWalk, unix.ENOENT, func(e *encoder) { e.u16(0xffff) }))
	f.Add(uint8(2), true, false, reply(opWalk, 0, func(e *encoder) { e.u16(4) }))
	f.Add(uint8(3), false, false, reply(opStat, 0, func(e *encoder) { e.stat(&st) }))
	f.Add(uint8(4), true, true, reply(opOpen, 0, nil))
	f.Add(uint8(4), true, true, reply(opOpen, unix.EACCES, nil))
	f.Add(uint8(4), true, false, reply(opOpen, 0, nil))
	f.Add(uint8(5), true, false, reply(opGetdents, 0, func(e *encoder) { e.u32(1); e.u64(1); e.u64(2); e.u8(4); e.str("x") }))
	f.Add(uint8(5), true, false, reply(opGetdents, 0, func(e *encoder) { e.u32(0xffffffff) }))
	f.Add(uint8(6), true, false, reply(opReadlink, 0, func(e *encoder) { e.str("../../etc") }))
	f.Add(uint8(7), true, false, reply(opStatFS, 0, func(e *encoder) { e.statFS(&StatFS{}) }))
	f.Add(uint8(8), true, true, reply(opClose, unix.EBADF, nil))
	f.Add(uint8(9), true, true, reply(opCreate, 0, func(e *encoder) { e.u64(3); e.stat(&st) }))
	f.Add(uint8(17), true, false, reply(opGetxattr, 0, func(e *encoder) { e.u32(0xffffffff) }))
	f.Add(uint8(18), true, false, reply(opGetxattr, 0, func(e *encoder) { e.bytes32([]byte("value")) }))
	f.Add(uint8(18), true, false, reply(opGetxattr, 0, func(e *encoder) { e.u32(0xfffffff0) }))
	f.Add(uint8(20), true, false, reply(opListxattr, 0, func(e *encoder) { e.u32(MaxXattrListLen + 1) }))
	f.Add(uint8(21), true, false, reply(opListxattr, 0, func(e *encoder) { e.bytes32([]byte("user.a\x00user.b\x00")) }))
	f.Add(uint8(21), true, false, reply(opListxattr, 0, func(e *encoder) { e.bytes32([]byte("\x00\x00")) }))
	f.Add(uint8(23), true, true, reply(opCreateTmpfile, 0, func(e *encoder) { e.u64(3); e.stat(&st) }))
	f.Add(uint8(1), false, true, []byte{})
	f.Add(uint8(3), false, false, make([]byte, maxMessageSize+1))

	// The poller's own descriptors are created with the first socket it
	// watches; make them before anything is counted.
	warmA, warmB := socketPair(f)
	warm, err := NewClient(warmA)
	if err != nil {
		f.Fatal(err)
	}
	_ = warm.Shutdown()
	_ = unix.Close(warmB)
	donor, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = unix.Close(donor) })

	f.Fuzz(func(t *testing.T, which uint8, matchHeader, attachFD bool, rep []byte) {
		if len(rep) > maxMessageSize+1 {
			rep = rep[:maxMessageSize+1]
		}
		call := clientCalls[int(which)%len(clientCalls)]
		fdsBefore := settledFDCount(t)
		serverEnd, clientEnd := socketPair(t)
		served := make(chan struct{})
		go fakeGofer(serverEnd, rep, matchHeader, attachFD, donor, served)
		c, err := NewClient(clientEnd)
		if err != nil {
			t.Fatal(err)
		}

		err = call.call(t, c)
		var errno unix.Errno
		if err != nil && !errors.As(err, &errno) {
			// The connection is broken: every later call says so.
			if _, err2 := c.Stat(1); err2 == nil || err2.Error() != err.Error() {
				t.Errorf("%s failed with %q, then Stat returned %v", call.name, err, err2)
			}
		} else if _, bare := err.(unix.Errno); err != nil && !bare {
			t.Errorf("%s: server errno returned wrapped: %#v", call.name, err)
		}

		if err := c.Shutdown(); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		<-served
		if fds := settledFDCount(t); fds != fdsBefore {
			t.Errorf("%s: %d descriptors open after the connection ended, %d before", call.name, fds, fdsBefore)
		}
	})
}

// fakeGofer answers every request on fd with rep until the peer hangs up,
// then closes fd and served. With matchHeader the request's tag and op are
// copied into the reply; with attachFD, donor goes with it.
func fakeGofer(fd int, rep []byte, matchHeader, attachFD bool, donor int, served chan<- struct{}) {
	defer close(served)
	defer unix.Close(fd)
	in := make([]byte, maxMessageSize)
	out := slices.Clone(rep)
	var oob []byte
	if attachFD {
		oob = unix.UnixRights(donor)
	}
	for {
		n, _, _, _, err := unix.Recvmsg(fd, in, nil, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil || n == 0 {
			return
		}
		if matchHeader && n >= 6 && len(out) >= 6 {
			copy(out[:6], in[:6])
		}
		err = unix.Sendmsg(fd, out, oob, nil, unix.MSG_NOSIGNAL)
		for err == unix.EINTR {
			err = unix.Sendmsg(fd, out, oob, nil, unix.MSG_NOSIGNAL)
		}
		if err != nil {
			return
		}
	}
}
