package gofer

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// A file created with CreateHeld exists at once for the requests after it,
// under the FID the client chose; FinishHeld writes its data and sets its
// attributes; nothing keeps it open for writing afterwards.
func TestCreateHeldThenFinish(t *testing.T) {
	root := testTree(t)
	c := newRWClient(t, root)
	rootFID := mustRoot(t, c)
	fid := c.NewFID()
	uid, gid := uint32(os.Getuid()), uint32(os.Getgid())
	created := c.PostCreateHeld(rootFID, "new.txt", 0o640, uid, gid, fid, nil)
	// Used before the reply is read: the gofer made the file first.
	st, err := c.Stat(fid)
	if err != nil || st.Mode != unix.S_IFREG|0o640 || st.Size != 0 {
		t.Fatalf("Stat of the held file: mode %#o size %d, %v", st.Mode, st.Size, err)
	}
	if !created.Done() {
		t.Fatal("CreateHeld's reply was not read by the exchange after it")
	}
	cst, err := c.Await(created)
	if err != nil || cst.Ino != st.Ino {
		t.Fatalf("CreateHeld: ino %d, %v; want ino %d", cst.Ino, err, st.Ino)
	}
	data := []byte(strings.Repeat("0123456789", 1000))
	mtime := unix.Timespec{Sec: 1234567890, Nsec: 5}
	finished := c.PostFinishHeld(fid, data, SetAttrArgs{Mask: unix.STATX_MODE | unix.STATX_MTIME, Mode: 0o604, Mtime: mtime}, nil)
	fst, err := c.Await(finished)
	if err != nil || fst.Size != int64(len(data)) || fst.Mode != unix.S_IFREG|0o604 || fst.Mtime != mtime {
		t.Fatalf("FinishHeld: size %d mode %#o mtime %v, %v", fst.Size, fst.Mode, fst.Mtime, err)
	}
	got, err := os.ReadFile(filepath.Join(root, "new.txt"))
	if err != nil || string(got) != string(data) {
		t.Fatalf("host file: %d bytes, %v; want %d", len(got), err, len(data))
	}
	// The kept descriptor is closed: a second FinishHeld has none.
	checkErrno(t, "second FinishHeld", awaitErr(c, c.PostFinishHeld(fid, nil, SetAttrArgs{}, nil)), unix.EBADF)
	if err := c.Close(fid); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func awaitErr(c *Client, p *Posted) error {
	_, err := c.Await(p)
	return err
}

// CreateHeld refuses FIDs the client may not choose and names that exist,
// and leaves nothing behind when it fails; closing a FID whose descriptor
// is still kept closes that too.
func TestCreateHeldRefusals(t *testing.T) {
	root := testTree(t)
	c := newRWClient(t, root)
	rootFID := mustRoot(t, c)
	uid, gid := uint32(os.Getuid()), uint32(os.Getgid())

	checkErrno(t, "server-range FID", awaitErr(c, c.PostCreateHeld(rootFID, "x", 0o600, uid, gid, 12345, nil)), unix.EINVAL)
	if _, err := os.Lstat(filepath.Join(root, "x")); !os.IsNotExist(err) {
		t.Errorf("refused CreateHeld left %q: %v", "x", err)
	}
	checkErrno(t, "existing name", awaitErr(c, c.PostCreateHeld(rootFID, "file.txt", 0o600, uid, gid, c.NewFID(), nil)), unix.EEXIST)
	if got, _ := os.ReadFile(filepath.Join(root, "file.txt")); string(got) != testFileContent {
		t.Errorf("file.txt changed to %q", got)
	}

	fid := c.NewFID()
	if err := awaitErr(c, c.PostCreateHeld(rootFID, "y", 0o600, uid, gid, fid, nil)); err != nil {
		t.Fatalf("CreateHeld: %v", err)
	}
	checkErrno(t, "FID in use", awaitErr(c, c.PostCreateHeld(rootFID, "z", 0o600, uid, gid, fid, nil)), unix.EEXIST)
	if _, err := os.Lstat(filepath.Join(root, "z")); !os.IsNotExist(err) {
		t.Errorf("CreateHeld on a used FID left %q: %v", "z", err)
	}
	checkErrno(t, "FinishHeld with a size", awaitErr(c, c.PostFinishHeld(fid, nil, SetAttrArgs{Mask: unix.STATX_SIZE}, nil)), unix.EINVAL)
	checkErrno(t, "FinishHeld of too much data", awaitErr(c, c.PostFinishHeld(fid, make([]byte, MaxHeldData+1), SetAttrArgs{}, nil)), unix.EINVAL)
	checkErrno(t, "FinishHeld of an unknown FID", awaitErr(c, c.PostFinishHeld(c.NewFID(), nil, SetAttrArgs{}, nil)), unix.EBADF)
	if n := countOpenForWrite(t, filepath.Join(root, "y")); n != 1 {
		t.Errorf("%d descriptors of the held file open for writing, want the kept one", n)
	}
	if err := c.Close(fid); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if n := countOpenForWrite(t, filepath.Join(root, "y")); n != 0 {
		t.Errorf("%d descriptors of the closed FID's file still open for writing", n)
	}
}

// countOpenForWrite counts this process's descriptors open for writing on
// path's file.
func countOpenForWrite(t *testing.T, path string) int {
	t.Helper()
	want := lstat(t, path)
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range ents {
		var st unix.Stat_t
		if unix.Stat(filepath.Join("/proc/self/fd", e.Name()), &st) != nil || st.Dev != want.Dev || st.Ino != want.Ino {
			continue
		}
		info, err := os.ReadFile(filepath.Join("/proc/self/fdinfo", e.Name()))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(info), "\n") {
			var flags int
			if _, err := fmt.Sscanf(line, "flags:\t%o", &flags); err == nil && flags&unix.O_ACCMODE != unix.O_RDONLY {
				n++
			}
		}
	}
	return n
}
