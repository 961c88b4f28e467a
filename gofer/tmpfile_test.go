package gofer

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// An O_TMPFILE file has no name until Link gives it one; with O_EXCL it
// never can; a read-only tree refuses it.
func TestCreateTmpfile(t *testing.T) {
	root := testTree(t)
	c := newRWClient(t, root)
	rootFID := mustRoot(t, c)
	before, _ := os.ReadDir(root)

	fid, st, fd, err := c.CreateTmpfile(rootFID, 0, 0o640, 1000, 1001)
	if err != nil {
		t.Fatalf("CreateTmpfile: %v", err)
	}
	defer unix.Close(fd)
	if st.Mode != unix.S_IFREG|0o640 || st.UID != 1000 || st.GID != 1001 || st.Nlink != 0 {
		t.Errorf("Stat = mode %#o owner %d:%d nlink %d", st.Mode, st.UID, st.GID, st.Nlink)
	}
	if after, _ := os.ReadDir(root); len(after) != len(before) {
		t.Errorf("the unnamed file shows in the directory: %d entries, had %d", len(after), len(before))
	}
	if _, err := unix.Pwrite(fd, []byte("tmp data"), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Link(rootFID, "named", fid); err != nil {
		t.Fatalf("Link: %v", err)
	}
	if got, err := os.ReadFile(filepath.Join(root, "named")); err != nil || string(got) != "tmp data" {
		t.Errorf("named file = %q, %v", got, err)
	}

	xfid, _, xfd, err := c.CreateTmpfile(rootFID, unix.O_EXCL, 0o600, 0, 0)
	if err != nil {
		t.Fatalf("CreateTmpfile(O_EXCL): %v", err)
	}
	unix.Close(xfd)
	_, err = c.Link(rootFID, "never", xfid)
	checkErrno(t, "Link of an O_EXCL tmpfile", err, unix.ENOENT)

	_, _, _, err = c.CreateTmpfile(rootFID, unix.O_APPEND, 0o600, 0, 0)
	checkErrno(t, "CreateTmpfile with bad flags", err, unix.EINVAL)

	ro := newTestClient(t, root)
	_, _, _, err = ro.CreateTmpfile(mustRoot(t, ro), 0, 0o600, 0, 0)
	checkErrno(t, "CreateTmpfile on a read-only tree", err, unix.EROFS)
}

// Requests that reopen a file by its name (xattrs, Open) on an unnamed
// O_TMPFILE file fail cleanly: the gofer once dereferenced its missing
// parent and crashed (found by the sandbox syscall fuzzer).
func TestTmpfileWithoutNameReopens(t *testing.T) {
	root := testTree(t)
	c := newRWClient(t, root)
	rootFID := mustRoot(t, c)
	fid, _, fd, err := c.CreateTmpfile(rootFID, 0, 0o640, 0, 0)
	if err != nil {
		t.Fatalf("CreateTmpfile: %v", err)
	}
	defer unix.Close(fd)
	if _, _, err := c.Listxattr(fid, 4096); err == nil {
		t.Log("Listxattr of an unnamed file succeeded")
	}
	if _, _, err := c.Getxattr(fid, "user.x", 64); err == nil {
		t.Log("Getxattr of an unnamed file succeeded")
	}
	if ofd, err := c.Open(fid, unix.O_RDONLY); err == nil {
		unix.Close(ofd)
	}
	// The server still answers.
	if _, err := c.Stat(rootFID); err != nil {
		t.Fatalf("the gofer stopped serving: %v", err)
	}
}
