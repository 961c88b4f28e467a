package goferfs_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/gofer"
	"github.com/cocoonrt/cocoon/sentry/fs/goferfs"
	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// serveRW serves root read-write and returns the tree's root inode.
func serveRW(t *testing.T, root string, exclusive bool) vfs.Inode {
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
	in, err := goferfs.New(c, goferfs.Options{Exclusive: exclusive})
	if err != nil {
		t.Fatalf("goferfs.New: %v", err)
	}
	return in
}

// A directory the sandbox made on an exclusive tree answers lookups of
// names it never made from memory: a file the host puts there behind
// the sandbox's back (which an exclusive tree rules out) stays unseen,
// which shows no lookup reached the gofer. Names made, renamed and
// removed through the sandbox are found or missing as they should be.
// On a shared tree the host's file is found.
func TestNewDirectoryKnowsItsNames(t *testing.T) {
	for _, exclusive := range []bool{true, false} {
		root := t.TempDir()
		in := serveRW(t, root, exclusive)
		ops := in.(vfs.DirOps)
		d, err := ops.Mkdir("d", unix.S_IFDIR|0o755, vfs.Owner{})
		if err != nil {
			t.Fatalf("Mkdir: %v", err)
		}
		if err := os.WriteFile(filepath.Join(root, "d", "host"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err = d.Lookup("host")
		if exclusive && err != unix.ENOENT {
			t.Errorf("exclusive: Lookup of a name the sandbox never made = %v, want ENOENT from memory", err)
		}
		if !exclusive && err != nil {
			t.Errorf("shared: Lookup of the host's file = %v, want it found", err)
		}
		dops := d.(vfs.DirOps)
		if _, f, err := dops.Create("f", 0, unix.S_IFREG|0o644, vfs.Owner{}); err != nil {
			t.Fatalf("Create: %v", err)
		} else {
			f.Close()
		}
		if _, err := dops.Mkdir("sub", unix.S_IFDIR|0o755, vfs.Owner{}); err != nil {
			t.Fatalf("Mkdir: %v", err)
		}
		if _, err := dops.Symlink("l", "f", vfs.Owner{}); err != nil {
			t.Fatalf("Symlink: %v", err)
		}
		f, err := d.Lookup("f")
		if err != nil {
			t.Fatalf("Lookup of a created file: %v", err)
		}
		if err := dops.Link("h", f); err != nil {
			t.Fatalf("Link: %v", err)
		}
		if err := dops.Rename("f", d, "g", 0); err != nil {
			t.Fatalf("Rename: %v", err)
		}
		if err := dops.Unlink("l"); err != nil {
			t.Fatalf("Unlink: %v", err)
		}
		for name, want := range map[string]error{"f": unix.ENOENT, "g": nil, "h": nil, "l": unix.ENOENT, "sub": nil} {
			if _, err := d.Lookup(name); err != want {
				t.Errorf("exclusive=%v: Lookup(%q) = %v, want %v", exclusive, name, err, want)
			}
		}
		// Moving a name into the directory from one whose names are not
		// known keeps the set right.
		if err := os.WriteFile(filepath.Join(root, "outside"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := ops.Rename("outside", d, "moved", 0); err != nil {
			t.Fatalf("Rename into the directory: %v", err)
		}
		if _, err := d.Lookup("moved"); err != nil {
			t.Errorf("exclusive=%v: Lookup of a name renamed in: %v", exclusive, err)
		}
	}
}
