package goferfs_test

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// sameAsHost fails unless st shows the host file's size, link count and
// times.
func sameAsHost(t *testing.T, what string, st unix.Stat_t, path string) {
	t.Helper()
	host := lstat(t, path)
	if st.Size != host.Size || st.Nlink != host.Nlink || st.Mtim != host.Mtim || st.Ctim != host.Ctim || st.Atim != host.Atim || st.Mode != host.Mode {
		t.Errorf("%s: size %d nlink %d mode %#o mtime %v ctime %v atime %v, host %d %d %#o %v %v %v", what,
			st.Size, st.Nlink, st.Mode, st.Mtim, st.Ctim, st.Atim, host.Size, host.Nlink, host.Mode, host.Mtim, host.Ctim, host.Atim)
	}
}

// On an exclusive tree, Stat of a file with a host descriptor answers
// from its last fstat while nothing changed; every change the sandbox
// makes through the tree, through this inode or another one of the same
// host file, shows at once.
func TestStatOfOpenFileFollowsEveryChange(t *testing.T) {
	root := t.TempDir()
	path := filepath.Join(root, "f")
	if err := os.WriteFile(path, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := serveWritable(t, root).Inode()
	ops := dir.(vfs.DirOps)
	in, err := dir.Lookup("f")
	if err != nil {
		t.Fatal(err)
	}
	rd, err := in.Open(unix.O_RDONLY)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	st, err := rd.Stat()
	if err != nil {
		t.Fatal(err)
	}
	sameAsHost(t, "first fstat", st, path)
	again, err := in.Stat()
	if err != nil || again != st {
		t.Errorf("Stat with nothing changed: %+v (%v), want %+v", again, err, st)
	}

	wr, err := in.Open(unix.O_RDWR)
	if err != nil {
		t.Fatal(err)
	}
	defer wr.Close()
	if _, err := wr.WriteAt([]byte("longer content"), 0); err != nil {
		t.Fatal(err)
	}
	if st, err = rd.Stat(); err != nil {
		t.Fatal(err)
	}
	sameAsHost(t, "fstat after a write", st, path)

	// A read may move atime (relatime: the first read after a write).
	buf := make([]byte, 4)
	if _, err := rd.ReadAt(buf, 0); err != nil {
		t.Fatal(err)
	}
	if st, err = in.Stat(); err != nil {
		t.Fatal(err)
	}
	sameAsHost(t, "Stat after a read", st, path)

	if err := wr.(vfs.Truncater).Truncate(2); err != nil {
		t.Fatal(err)
	}
	if st, err = rd.Stat(); err != nil {
		t.Fatal(err)
	}
	sameAsHost(t, "fstat after ftruncate", st, path)

	if err := in.(vfs.SetStatter).SetStat(vfs.SetStatOpts{Mask: vfs.SetMode, Mode: 0o600}); err != nil {
		t.Fatal(err)
	}
	if st, err = rd.Stat(); err != nil {
		t.Fatal(err)
	}
	sameAsHost(t, "fstat after chmod", st, path)

	// A second name has an inode of its own, with its own descriptors:
	// its writes and its removal change the file the first inode shows.
	if err := ops.Link("g", in); err != nil {
		t.Fatal(err)
	}
	if st, err = rd.Stat(); err != nil {
		t.Fatal(err)
	}
	sameAsHost(t, "fstat after link", st, path)
	g, err := dir.Lookup("g")
	if err != nil {
		t.Fatal(err)
	}
	gw, err := g.Open(unix.O_RDWR)
	if err != nil {
		t.Fatal(err)
	}
	defer gw.Close()
	if _, err := gw.WriteAt([]byte("through the other name"), 0); err != nil {
		t.Fatal(err)
	}
	if st, err = rd.Stat(); err != nil {
		t.Fatal(err)
	}
	sameAsHost(t, "fstat after a write through the other name", st, path)
	if err := ops.Unlink("g"); err != nil {
		t.Fatal(err)
	}
	if st, err = rd.Stat(); err != nil {
		t.Fatal(err)
	}
	sameAsHost(t, "fstat after the other name's unlink", st, path)
	if st.Nlink != 1 {
		t.Errorf("nlink after unlinking the second name: %d, want 1", st.Nlink)
	}
}
