package goferfs_test

import (
	"fmt"
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

// A directory that was there before learns its names from its listing
// once lookups in it missed a few distinct names: a file the host puts
// there afterwards (which an exclusive tree rules out) stays unseen,
// which shows no later lookup reached the gofer, while every name the
// directory had, and those the sandbox makes and removes, are found or
// missing as they should be. A directory too large to learn keeps asking
// the gofer, and so does a shared tree.
func TestExistingDirectoryLearnsItsNames(t *testing.T) {
	for _, tc := range []struct {
		name        string
		exclusive   bool
		entries     int
		wantLearned bool
	}{
		{"exclusive", true, 50, true},
		{"exclusive, too large", true, 1100, false},
		{"shared", false, 50, false},
	} {
		root := t.TempDir()
		dir := filepath.Join(root, "d")
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for n := range tc.entries {
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("old%04d", n)), nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		in := serveRW(t, root, tc.exclusive)
		d, err := in.Lookup("d")
		if err != nil {
			t.Fatalf("%s: Lookup: %v", tc.name, err)
		}
		for _, name := range []string{"miss1", "miss2", "miss3"} {
			if _, err := d.Lookup(name); err != unix.ENOENT {
				t.Fatalf("%s: Lookup(%q) = %v, want ENOENT", tc.name, name, err)
			}
		}
		if err := os.WriteFile(filepath.Join(dir, "host"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err = d.Lookup("host")
		if learned := err == unix.ENOENT; learned != tc.wantLearned {
			t.Errorf("%s: Lookup of the host's new file = %v; want learned=%v", tc.name, err, tc.wantLearned)
		}
		for _, name := range []string{"old0000", fmt.Sprintf("old%04d", tc.entries-1)} {
			if _, err := d.Lookup(name); err != nil {
				t.Errorf("%s: Lookup(%q) of a name the directory had = %v", tc.name, name, err)
			}
		}
		dops := d.(vfs.DirOps)
		if _, f, err := dops.Create("new", 0, unix.S_IFREG|0o644, vfs.Owner{}); err != nil {
			t.Fatalf("%s: Create: %v", tc.name, err)
		} else {
			f.Close()
		}
		if err := dops.Unlink("old0001"); err != nil {
			t.Fatalf("%s: Unlink: %v", tc.name, err)
		}
		for name, want := range map[string]error{"new": nil, "old0001": unix.ENOENT, "old0002": nil} {
			if _, err := d.Lookup(name); err != want {
				t.Errorf("%s: Lookup(%q) = %v, want %v", tc.name, name, err, want)
			}
		}
	}
}

// A listing read while a name of the directory changed may or may not
// show the change, so it is not kept.
func TestLearningIgnoresListingRacingAChange(t *testing.T) {
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, "d"), 0o755); err != nil {
		t.Fatal(err)
	}
	in := serveRW(t, root, true)
	d, err := in.Lookup("d")
	if err != nil {
		t.Fatal(err)
	}
	if goferfs.LearnNamesAcrossChange(d, "x") {
		t.Error("names learned from a listing read across a change were kept")
	}
}
