package image

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/image/unpack"
)

// FuzzUnpackLayer applies arbitrary tar streams as layers (image/unpack,
// the code every pulled layer goes through) and checks the unpacker's
// security invariant: nothing outside the layer directory is created,
// changed, removed or hard-linked, whatever the stream holds. It also
// checks that the work done is in proportion to the input. `go test` runs
// the seeds; `go test -fuzz '^FuzzUnpackLayer$'` explores.
func FuzzUnpackLayer(f *testing.F) {
	dir := func(n string) tarEntry { return tarEntry{hdr: tar.Header{Name: n, Typeflag: tar.TypeDir, Mode: 0o755}} }
	file := func(n, data string) tarEntry {
		return tarEntry{hdr: tar.Header{Name: n, Typeflag: tar.TypeReg, Mode: 0o644}, data: data}
	}
	symlink := func(n, target string) tarEntry {
		return tarEntry{hdr: tar.Header{Name: n, Typeflag: tar.TypeSymlink, Linkname: target}}
	}
	hardlink := func(n, target string) tarEntry {
		return tarEntry{hdr: tar.Header{Name: n, Typeflag: tar.TypeLink, Linkname: target}}
	}
	special := func(n string, typ byte, major, minor int64) tarEntry {
		return tarEntry{hdr: tar.Header{Name: n, Typeflag: typ, Mode: 0o600, Devmajor: major, Devminor: minor}}
	}
	withPAX := func(e tarEntry, records map[string]string) tarEntry {
		e.hdr.PAXRecords = records
		e.hdr.Format = tar.FormatPAX
		return e
	}
	for _, s := range [][]tarEntry{
		// Every entry type.
		{dir("./"), dir("etc/"), file("etc/passwd", "root:x:0:0::/root:/bin/sh\n"), symlink("etc/mtab", "/proc/mounts"),
			hardlink("etc/passwd-", "etc/passwd"), special("run/fifo", tar.TypeFifo, 0, 0),
			special("dev/null", tar.TypeChar, 1, 3), special("dev/sda", tar.TypeBlock, 8, 0)},
		// Whiteouts and opaque directories in their three spellings.
		{dir("a/"), file("a/.wh.gone", ""), file("a/.wh..wh..opq", ""), file(".wh..wh..plnk", ""),
			special("a/removed", tar.TypeChar, 0, 0), dir("a/sub/"), file("a/.wh.sub", ""), file(".wh..wh..opq", "")},
		{file(".wh.", ""), file("a/.wh..", "")},
		{file("a/.wh..wh..opq", ""), file("a/.wh.x/y", "")},
		// Names that climb out.
		{file("../evil", "x")},
		{file("a/../../evil", "x")},
		{file("/abs/file", "x"), file("./x/../y", "y"), file("x//y/./z", "z")},
		// Through a symlink, relative or absolute, to the outside.
		{symlink("l", "../outside"), file("l/secret", "overwritten"), file("l/new", "x")},
		{symlink("l", "../outside/dir"), dir("l/"), file("l/new", "x")},
		{symlink("abs", "/"), file("abs/cocoon-fuzz-escape", "x"), dir("abs/tmp/cocoon-fuzz-escape/")},
		{symlink("l", "../outside"), file("l/.wh.secret", ""), file("l/.wh..wh..opq", ""), special("l/dev", tar.TypeChar, 0, 0)},
		{symlink("a", "b"), symlink("b", "../outside"), file("a/secret", "x")},
		// Hard links to the outside, directly or through a symlink.
		{hardlink("h", "../outside/secret")},
		{hardlink("h", "/outside/secret")},
		{symlink("l", "../outside"), hardlink("h", "l/secret")},
		{symlink("s", "../outside/secret"), hardlink("h", "s"), file("h", "x")},
		{dir("d/"), hardlink("d/h", "d"), hardlink("self", "self"), hardlink("root", "./")},
		// Replacing one kind of entry with another.
		{dir("d/"), file("d/f", "1"), file("d", "2"), dir("d/"), symlink("d", "."), file("d/f", "3")},
		{file("f", "1"), symlink("f", "../outside/secret"), file("f", "2"), special("f", tar.TypeFifo, 0, 0)},
		// Extended attributes, ownership and modes.
		{withPAX(file("x", "x"), map[string]string{
			"SCHILY.xattr.user.a":                   "1",
			"SCHILY.xattr.trusted.overlay.opaque":   "y",
			"SCHILY.xattr.trusted.overlay.redirect": "/outside",
			"SCHILY.xattr.security.capability":      "\x01\x00\x00\x02",
			"SCHILY.xattr.system.posix_acl_access":  "",
		}), withPAX(symlink("s", "x"), map[string]string{"SCHILY.xattr.user.b": "2", "SCHILY.xattr.trusted.t": "3"}),
			withPAX(dir("d/"), map[string]string{"SCHILY.xattr.user.overlay.origin": ""})},
		{{hdr: tar.Header{Name: "suid", Typeflag: tar.TypeReg, Mode: 0o4755, Uid: 1000, Gid: 1000}, data: "x"},
			{hdr: tar.Header{Name: "d/", Typeflag: tar.TypeDir, Mode: 0o1777, Uid: 65534}}},
		// Long names and link targets.
		{file(strings.Repeat("n/", 300)+"f", "x"), symlink("long", strings.Repeat("../", 1400))},
		{dir(strings.Repeat("a", 255) + "/"), file(strings.Repeat("a", 255)+"/"+strings.Repeat("b", 256), "x")},
	} {
		f.Add(tarOf(f, s))
	}
	f.Add([]byte{})
	f.Add(make([]byte, 1024))
	// A sparse file of 64 GiB holding one byte: archive/tar expands the
	// holes into zeros that the unpacker reads, up to its bound on holes.
	f.Add(append(sparseEntry(f, "big", 64<<30, "x"), make([]byte, 1024)...))

	f.Fuzz(func(t *testing.T, layer []byte) {
		base, root := unpackTarget(t)
		before := snapshotOutsideRoot(t, base)
		ctx := newBudgetContext(len(layer))
		_, err := unpack.ApplyWith(ctx, root, bytes.NewReader(layer), unpack.Options{MaxSparseHoles: fuzzSparseHoles})
		if ctx.exhausted {
			t.Errorf("a %d-byte layer kept the unpacker busy past %d context checks", len(layer), ctx.budget)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "unpack: ") {
			t.Errorf("error %q does not say where it came from", err)
		}
		checkUnpackConfined(t, base, before)
		for _, p := range []string{"/cocoon-fuzz-escape", "/tmp/cocoon-fuzz-escape"} {
			if _, err := os.Lstat(p); err == nil {
				t.Errorf("%s was created on the host", p)
			}
		}
	})
}

// sparseEntry is a tar entry for name in GNU's PAX sparse format 0.1,
// which tar.Writer cannot write: realSize bytes, data at offset 0 and
// holes after it.
func sparseEntry(tb testing.TB, name string, realSize int64, data string) []byte {
	tb.Helper()
	var records []byte
	for _, kv := range [][2]string{
		{"GNU.sparse.name", name}, {"GNU.sparse.size", strconv.FormatInt(realSize, 10)},
		{"GNU.sparse.numblocks", "1"}, {"GNU.sparse.map", "0," + strconv.Itoa(len(data))},
	} {
		rec := " " + kv[0] + "=" + kv[1] + "\n"
		n := len(rec)
		for len(strconv.Itoa(n))+len(rec) != n {
			n = len(strconv.Itoa(n)) + len(rec)
		}
		records = append(records, strconv.Itoa(n)+rec...)
	}
	out := rawTarBlock(tb, "PaxHeaders/"+name, tar.TypeXHeader, records)
	return append(out, rawTarBlock(tb, "GNUSparseFile.0/"+name, tar.TypeReg, []byte(data))...)
}

// rawTarBlock is a ustar header for name of type typ followed by data,
// padded to whole blocks.
func rawTarBlock(tb testing.TB, name string, typ byte, data []byte) []byte {
	tb.Helper()
	var h [512]byte
	if len(name) > 100 {
		tb.Fatalf("name %q too long for a raw header", name)
	}
	copy(h[0:], name)
	copy(h[100:], "0000644\x00")
	copy(h[108:], "0000000\x00")
	copy(h[116:], "0000000\x00")
	copy(h[124:], fmt.Sprintf("%011o\x00", len(data)))
	copy(h[136:], "00000000000\x00")
	h[156] = typ
	copy(h[257:], "ustar\x0000")
	copy(h[148:], "        ")
	sum := 0
	for _, b := range h {
		sum += int(b)
	}
	copy(h[148:], fmt.Sprintf("%06o\x00 ", sum))
	out := append(h[:], data...)
	if r := len(data) % 512; r != 0 {
		out = append(out, make([]byte, 512-r)...)
	}
	return out
}

// fuzzSparseHoles is the bound on holes the fuzz target unpacks with: far
// below the default, so that an input exploring sparse files costs
// milliseconds, not the seconds of reading gigabytes of zeros.
const fuzzSparseHoles = 64 << 20

// budgetContext is a context whose Err reports cancellation once it has
// been asked more often than the input justifies. The unpacker checks its
// context once per entry and once per 8 MiB of file data, so an input of
// n bytes, with at most n/512 headers, n bytes of data and
// fuzzSparseHoles bytes of holes, needs at most n/512 + n/8Mi +
// fuzzSparseHoles/8Mi checks; more mean the stream expanded beyond what
// the unpacker allows. A count, not a clock, so that the test is
// deterministic.
type budgetContext struct {
	context.Context
	budget, used int
	exhausted    bool
}

func newBudgetContext(n int) *budgetContext {
	return &budgetContext{Context: context.Background(), budget: 2*(n/512) + fuzzSparseHoles/(8<<20) + 256}
}

func (c *budgetContext) Err() error {
	c.used++
	if c.used > c.budget {
		c.exhausted = true
		return context.Canceled
	}
	return nil
}

// unpackTarget makes base/root, the empty layer directory, and
// base/outside, a decoy the layer must not reach.
func unpackTarget(t *testing.T) (base, root string) {
	t.Helper()
	base = t.TempDir()
	root = filepath.Join(base, "root")
	for _, d := range []string{root, filepath.Join(base, "outside", "dir")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(base, "outside", "secret"), []byte("do not touch\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return base, root
}

// outsideState is what the test records of a file outside the layer
// directory to notice any change to it.
type outsideState struct {
	mode, uid, gid uint32
	nlink          uint64
	size           int64
	mtime          unix.Timespec
	content        string
	xattrs         string
}

// snapshotOutsideRoot records every file under base except base/root,
// without following symlinks.
func snapshotOutsideRoot(t *testing.T, base string) map[string]outsideState {
	t.Helper()
	out := map[string]outsideState{}
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
		s := outsideState{mode: st.Mode, uid: st.Uid, gid: st.Gid, nlink: st.Nlink, size: st.Size, mtime: st.Mtim}
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

// checkUnpackConfined fails the test if anything under base outside
// base/root changed since before, if base/root is no longer a directory,
// if it holds a device other than a whiteout (0/0), or if a file in it is
// hard-linked from outside it.
func checkUnpackConfined(t *testing.T, base string, before map[string]outsideState) {
	t.Helper()
	after := snapshotOutsideRoot(t, base)
	for p, s := range before {
		if a, ok := after[p]; !ok {
			t.Errorf("%s was removed", p)
		} else if a != s {
			t.Errorf("%s changed: %+v, was %+v", p, a, s)
		}
	}
	for p := range after {
		if _, ok := before[p]; !ok {
			t.Errorf("%s was created outside the layer directory", p)
		}
	}
	root := filepath.Join(base, "root")
	var st unix.Stat_t
	if err := unix.Lstat(root, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR {
		t.Fatalf("the layer directory is no longer a directory (mode %#o, %v)", st.Mode, err)
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
			if st.Rdev != 0 {
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
			t.Errorf("inode %d has %d links, %d of them in the layer directory", k.ino, nlink[k], n)
		}
	}
}

// TestUnpackRefusesSparseBomb checks the default bound on sparse holes: a
// tiny layer describing an exabyte file is refused, in bounded work,
// after at most unpack.MaxSparseHoles bytes of holes.
func TestUnpackRefusesSparseBomb(t *testing.T) {
	base, root := unpackTarget(t)
	layer := append(sparseEntry(t, "big", 1<<60, "x"), make([]byte, 1024)...)
	before := snapshotOutsideRoot(t, base)
	ctx := &budgetContext{Context: context.Background(), budget: unpack.MaxSparseHoles/(8<<20) + 256}
	st, err := unpack.Apply(ctx, root, bytes.NewReader(layer))
	if ctx.exhausted {
		t.Fatalf("the unpacker went on past %d context checks", ctx.budget)
	}
	if err == nil || !strings.Contains(err.Error(), "holes") {
		t.Fatalf("Apply = %+v, %v; want an error about holes", st, err)
	}
	checkUnpackConfined(t, base, before)
}
