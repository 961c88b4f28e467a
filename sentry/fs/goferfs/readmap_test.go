package goferfs_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/fs/goferfs"
	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// readsLikeHost reads f at a few offsets, enough times to map it, and
// checks every read against the host file at path.
func readsLikeHost(t *testing.T, what string, f vfs.FileImpl, path string) (inPlace int) {
	t.Helper()
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for range goferfs.MapAfterReads + 1 {
		for _, off := range []int64{0, 4095, 65536, int64(len(want)) - 10, int64(len(want)), int64(len(want)) + 5000} {
			// The short read ends in the file's last page.
			for _, size := range []int64{100, 9000} {
				if off < 0 {
					continue
				}
				buf := make([]byte, size)
				n, err := f.ReadAt(buf, off)
				lo := min(off, int64(len(want)))
				hi := min(off+size, int64(len(want)))
				if err != nil || !bytes.Equal(buf[:n], want[lo:hi]) {
					t.Fatalf("%s: ReadAt(%d at %d) = %d, %v; want the host's %d bytes", what, size, off, n, err, hi-lo)
				}
				var got []byte
				n, handled, err := f.(vfs.InPlaceReader).ReadInPlace(off, int(size), func(src []byte) (int, error) {
					got = append(got, src...)
					return len(src), nil
				})
				if handled && (err != nil || n != len(got) || !bytes.Equal(got, want[lo:hi])) {
					t.Fatalf("%s: ReadInPlace(%d at %d) = %d, %v; want the host's %d bytes", what, size, off, n, err, hi-lo)
				}
				if handled {
					inPlace++
				}
			}
		}
	}
	return inPlace
}

// openBig writes bigContent to a file of a tree served exclusive or shared
// and opens it with flags; the file closes at cleanup.
func openBig(t *testing.T, exclusive bool, flags int) (path string, in vfs.Inode, f vfs.FileImpl) {
	t.Helper()
	root := t.TempDir()
	path = filepath.Join(root, "f")
	if err := os.WriteFile(path, bigContent(), 0o644); err != nil {
		t.Fatal(err)
	}
	in = lookup(t, serveRW(t, root, exclusive), "f")
	f, err := in.Open(flags)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return path, in, f
}

// Reads through the mapping of a descriptor see every change the sandbox
// makes to the file: writes past the end, truncation and O_TRUNC, through
// the same inode or another.
func TestMappedReadsFollowChanges(t *testing.T) {
	path, in, rw := openBig(t, true, unix.O_RDWR)
	readsLikeHost(t, "first reads", rw, path)
	if !goferfs.Mapped(rw) {
		t.Fatalf("a descriptor read %d times is not mapped", 6*(goferfs.MapAfterReads+1))
	}
	if _, err := rw.WriteAt(bytes.Repeat([]byte("z"), 100000), 190000); err != nil {
		t.Fatal(err)
	}
	readsLikeHost(t, "after a write past the end", rw, path)
	tr := rw.(vfs.Truncater)
	for _, size := range []int64{70001, 4096, 5, 0, 300000} {
		if err := tr.Truncate(size); err != nil {
			t.Fatal(err)
		}
		readsLikeHost(t, "after truncate", rw, path)
	}
	if _, err := rw.WriteAt(bigContent(), 0); err != nil {
		t.Fatal(err)
	}
	readsLikeHost(t, "after rewriting", rw, path)
	// truncate(2) of the name, which goes through SetStat.
	if err := in.(vfs.SetStatter).SetStat(vfs.SetStatOpts{Mask: vfs.SetSize, Size: 1234}); err != nil {
		t.Fatal(err)
	}
	if readsLikeHost(t, "after truncate(2)", rw, path) == 0 {
		t.Errorf("no read of a mapped descriptor was made in place")
	}
	if !goferfs.Mapped(rw) {
		t.Errorf("the read-write descriptor's mapping was dropped")
	}
}

// A read-only descriptor's mapping is dropped once anything in the tree
// could have copied a file up: a host overlay keeps mappings of the lower
// file. Its reads go on, with pread.
func TestReadOnlyMappingDroppedOnCopyUp(t *testing.T) {
	path, in, ro := openBig(t, true, unix.O_RDONLY)
	readsLikeHost(t, "first reads", ro, path)
	if !goferfs.Mapped(ro) {
		t.Fatal("a read-only descriptor read often is not mapped")
	}
	rw, err := in.Open(unix.O_RDWR)
	if err != nil {
		t.Fatal(err)
	}
	defer rw.Close()
	if _, err := rw.WriteAt([]byte("changed"), 10); err != nil {
		t.Fatal(err)
	}
	if readsLikeHost(t, "after an open for writing", ro, path) != 0 {
		t.Error("reads were made in place after an open for writing")
	}
	if goferfs.Mapped(ro) {
		t.Error("the read-only descriptor is still mapped after an open for writing")
	}
}

// A shared tree's files are never mapped: the host may shorten them at any
// time.
func TestSharedTreeNotMapped(t *testing.T) {
	path, _, ro := openBig(t, false, unix.O_RDONLY)
	readsLikeHost(t, "reads", ro, path)
	if goferfs.Mapped(ro) {
		t.Error("a shared tree's file is mapped")
	}
}

// The host shortening a mapped file behind the sandbox's back (which an
// exclusive tree rules out) must not crash the sentry: the pages past the
// new end fault, and the read falls back to pread.
func TestMappedReadOfFileTruncatedByHost(t *testing.T) {
	path, _, ro := openBig(t, true, unix.O_RDONLY)
	readsLikeHost(t, "first reads", ro, path)
	if !goferfs.Mapped(ro) {
		t.Fatal("not mapped")
	}
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	for _, off := range []int64{0, 8192, 65536} {
		n, handled, err := ro.(vfs.InPlaceReader).ReadInPlace(off, len(buf), func(src []byte) (int, error) {
			return copy(buf, src), nil
		})
		if handled && (n != 0 || err != nil) {
			t.Errorf("ReadInPlace(%d) of a file the host emptied = %d, %v; want 0, nil or not handled", off, n, err)
		}
		if n, err := ro.ReadAt(buf, off); n != 0 || err != nil {
			t.Errorf("ReadAt(%d) of a file the host emptied = %d, %v; want 0, nil", off, n, err)
		}
	}
}

// copyFrom reports a fault instead of crashing.
func TestCopyFromFault(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "m")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(3 * 4096); err != nil {
		t.Fatal(err)
	}
	m, err := unix.Mmap(int(f.Fd()), 0, 3*4096, unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(m)
	dst := make([]byte, 4096)
	if !goferfs.CopyFrom(dst, m[4096:]) {
		t.Fatal("copy from a mapped page failed")
	}
	if err := f.Truncate(4096); err != nil {
		t.Fatal(err)
	}
	if goferfs.CopyFrom(dst, m[8192:]) {
		t.Fatal("copy from a page past the file's end succeeded")
	}
	if !goferfs.CopyFrom(dst, m[:4096]) {
		t.Fatal("copy from the page still in the file failed after a fault")
	}
	// A fault elsewhere is not the mapping's: it is not taken for one.
	defer func() {
		if recover() == nil {
			t.Error("a fault outside the mapped bytes was swallowed")
		}
	}()
	goferfs.PassFaulting(func(src []byte) (int, error) {
		var p *[4096]byte
		return copy(p[:], src), nil
	}, m[:4096])
}
