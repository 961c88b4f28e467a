package goferfs_test

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/gofer"
	"github.com/cocoonrt/cocoon/sentry/fs/goferfs"
	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// serveWritable starts a gofer serving root read-write (in this process)
// and returns the root dentry of the tree.
func serveWritable(t *testing.T, root string) *vfs.Dentry {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("socketpair: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- gofer.ServeTrees(fds[0], []gofer.Tree{{Path: root}}) }()
	c, err := gofer.NewClient(fds[1])
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	t.Cleanup(func() {
		c.Shutdown()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Errorf("gofer did not stop after the client hung up")
		}
	})
	in, err := goferfs.New(c, goferfs.Options{Exclusive: true})
	if err != nil {
		t.Fatalf("goferfs.New: %v", err)
	}
	return vfs.NewRoot(in)
}

// fdsWhere counts this process's descriptors (the sentry's donated ones
// and the in-process gofer's FIDs alike) whose target match accepts.
func fdsWhere(t *testing.T, match func(target string) bool) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range ents {
		if target, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name())); err == nil && match(target) {
			n++
		}
	}
	return n
}

// deletedHeld counts this process's descriptors that hold a removed file
// below dir.
func deletedHeld(t *testing.T, dir string) int {
	return fdsWhere(t, func(target string) bool {
		return strings.HasPrefix(target, dir+"/") && strings.HasSuffix(target, " (deleted)")
	})
}

// waitNoneHeld waits for the FIDs the gofer closes asynchronously (the
// reaper sends them in batches) and fails if removed files stay held.
func waitNoneHeld(t *testing.T, dir, what string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for deletedHeld(t, dir) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d descriptors still hold removed files", what, deletedHeld(t, dir))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestRemovedFileLetsGoOfHostFile checks that removing a file hands its
// host descriptors and FID back once no open file uses them (so the host
// can free its blocks), whether it is closed before or after the unlink,
// and that a file still open keeps working after the unlink.
func TestRemovedFileLetsGoOfHostFile(t *testing.T) {
	dir := t.TempDir()
	root := serveWritable(t, dir)

	// The removed files' dentries stay reachable to the end, so that
	// what goes is what the VFS handed back, not what a garbage
	// collection found unreachable.
	var kept []*vfs.Dentry
	defer runtime.KeepAlive(&kept)

	// Closed, then unlinked.
	d, impl, err := root.Create("closed", unix.O_RDWR, 0o644, vfs.Owner{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	kept = append(kept, d)
	f := vfs.NewFile(impl, d, unix.O_RDWR)
	if _, err := f.Write([]byte("data")); err != nil {
		t.Fatal(err)
	}
	f.DecRef()
	if err := root.Unlink("closed", nil); err != nil {
		t.Fatal(err)
	}
	waitNoneHeld(t, dir, "closed then unlinked")

	// Unlinked while open: the open file still reads and writes, and the
	// host file goes when it closes.
	d, impl, err = root.Create("open", unix.O_RDWR, 0o644, vfs.Owner{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	kept = append(kept, d)
	f = vfs.NewFile(impl, d, unix.O_RDWR)
	if err := root.Unlink("open", nil); err != nil {
		t.Fatal(err)
	}
	if n := deletedHeld(t, dir); n == 0 {
		t.Fatalf("an open, unlinked file holds no host descriptor")
	}
	if _, err := f.PWrite([]byte("still"), 0); err != nil {
		t.Fatalf("write after unlink: %v", err)
	}
	buf := make([]byte, 5)
	if n, err := f.PRead(buf, 0); err != nil || string(buf[:n]) != "still" {
		t.Fatalf("read after unlink: %q, %v", buf[:n], err)
	}
	if st, err := f.Impl().Stat(); err != nil || st.Nlink != 0 || st.Size != 5 {
		t.Fatalf("fstat after unlink: nlink %d size %d, %v", st.Nlink, st.Size, err)
	}
	f.DecRef()
	waitNoneHeld(t, dir, "unlinked then closed")

	// Replaced by a rename.
	for _, name := range []string{"a", "b"} {
		d, impl, err := root.Create(name, unix.O_RDWR, 0o644, vfs.Owner{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		kept = append(kept, d)
		vfs.NewFile(impl, d, unix.O_RDWR).DecRef()
	}
	if err := vfs.Rename(root, "a", root, "b", 0, nil); err != nil {
		t.Fatal(err)
	}
	waitNoneHeld(t, dir, "replaced by a rename")
}
