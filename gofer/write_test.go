package gofer

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// mustReadFile returns the content of a host file.
func mustReadFile(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// checkStatMatches fails unless st describes the host file at path.
func checkStatMatches(t testing.TB, what string, st Stat, path string) {
	t.Helper()
	host := lstat(t, path)
	if st.Ino != host.Ino || st.Mode != host.Mode || st.UID != host.Uid || st.GID != host.Gid ||
		st.Size != host.Size || st.Nlink != uint32(host.Nlink) {
		t.Errorf("%s: Stat %+v does not match host %+v", what, st, host)
	}
}

func TestTreesAndAttach(t *testing.T) {
	roDir, rwDir := testTree(t), testTree(t)
	c := newTreesClient(t, []Tree{{Name: "", Path: roDir, ReadOnly: true}, {Name: "data", Path: rwDir}}, 0)

	rootFID, rootSt, err := c.Root()
	if err != nil || rootSt.Ino != lstat(t, roDir).Ino {
		t.Fatalf("Root = %+v, %v; want the read-only tree", rootSt, err)
	}
	dataFID, dataSt, err := c.Attach("data")
	if err != nil || dataSt.Ino != lstat(t, rwDir).Ino {
		t.Fatalf("Attach(data) = %+v, %v", dataSt, err)
	}
	if _, st, err := c.Attach(""); err != nil || st.Ino != rootSt.Ino {
		t.Errorf("Attach(\"\") = %+v, %v; want the root tree", st, err)
	}
	_, _, err = c.Attach("nope")
	checkErrno(t, "Attach(nope)", err, unix.ENOENT)
	_, _, err = c.Attach(strings.Repeat("x", MaxNameLen+1))
	checkErrno(t, "Attach(long)", err, unix.ENAMETOOLONG)

	// StatFS reports the read-only tree as such.
	if sfs, err := c.StatFS(rootFID); err != nil || sfs.Flags&unix.ST_RDONLY == 0 {
		t.Errorf("StatFS(read-only tree) flags %#x, %v", sfs.Flags, err)
	}
	if sfs, err := c.StatFS(dataFID); err != nil || sfs.Flags&unix.ST_RDONLY != 0 {
		t.Errorf("StatFS(read-write tree) flags %#x, %v", sfs.Flags, err)
	}

	// Every modifying operation fails with EROFS on the read-only tree and
	// leaves it alone; the read-write tree takes them.
	fileFID, _ := mustWalk(t, c, rootFID, "file.txt")
	_, _, fd, err := c.Create(rootFID, "new", unix.O_RDWR, 0o644, 0, 0)
	if err == nil {
		unix.Close(fd)
	}
	checkErrno(t, "Create", err, unix.EROFS)
	_, _, err = c.Mkdir(rootFID, "new", 0o755, 0, 0)
	checkErrno(t, "Mkdir", err, unix.EROFS)
	_, _, err = c.Mknod(rootFID, "new", unix.S_IFIFO|0o644, 0, 0)
	checkErrno(t, "Mknod", err, unix.EROFS)
	_, _, err = c.Symlink(rootFID, "new", "file.txt", 0, 0)
	checkErrno(t, "Symlink", err, unix.EROFS)
	_, err = c.Link(rootFID, "new", fileFID)
	checkErrno(t, "Link", err, unix.EROFS)
	checkErrno(t, "Unlink", c.Unlink(rootFID, "file.txt", 0), unix.EROFS)
	checkErrno(t, "Rename", c.Rename(rootFID, "file.txt", rootFID, "new", 0), unix.EROFS)
	_, err = c.SetAttr(fileFID, SetAttrArgs{Mask: unix.STATX_MODE, Mode: 0o600})
	checkErrno(t, "SetAttr", err, unix.EROFS)
	checkErrno(t, "Setxattr", c.Setxattr(fileFID, "user.x", []byte("1"), 0), unix.EROFS)
	checkErrno(t, "Removexattr", c.Removexattr(fileFID, "user.x"), unix.EROFS)
	for _, flags := range []int{unix.O_WRONLY, unix.O_RDWR, unix.O_RDONLY | unix.O_APPEND} {
		fd, err := c.Open(fileFID, flags)
		if err == nil {
			unix.Close(fd)
		}
		checkErrno(t, fmt.Sprintf("Open(%#x)", flags), err, unix.EROFS)
	}
	// Reading attributes is fine on a read-only tree.
	if _, _, err := c.Getxattr(fileFID, "user.x", 0); err != unix.ENODATA {
		t.Errorf("Getxattr on read-only tree: %v, want ENODATA", err)
	}
	if _, err := os.Lstat(filepath.Join(roDir, "new")); !os.IsNotExist(err) {
		t.Errorf("read-only tree was modified: %v", err)
	}
	if got := mustReadFile(t, filepath.Join(roDir, "file.txt")); got != testFileContent {
		t.Errorf("read-only file changed to %q", got)
	}

	// Cross-tree links and renames are refused.
	dataFile, _ := mustWalk(t, c, dataFID, "file.txt")
	_, err = c.Link(dataFID, "cross", fileFID)
	checkErrno(t, "Link across trees", err, unix.EXDEV)
	checkErrno(t, "Rename across trees", c.Rename(dataFID, "file.txt", rootFID, "x", 0), unix.EROFS)
	if fid, _, err := c.Mkdir(dataFID, "made", 0o755, 0, 0); err != nil {
		t.Errorf("Mkdir on read-write tree: %v", err)
	} else {
		c.Close(fid)
	}
	c.Close(dataFile)
}

func TestTreesRenameAcrossRWTrees(t *testing.T) {
	a, b := testTree(t), testTree(t)
	c := newTreesClient(t, []Tree{{Name: "a", Path: a}, {Name: "b", Path: b}}, 0)
	// Without a tree named "", Root is the first tree.
	_, st, err := c.Root()
	if err != nil || st.Ino != lstat(t, a).Ino {
		t.Errorf("Root = %+v, %v; want the first tree", st, err)
	}
	aFID, _, _ := c.Attach("a")
	bFID, _, _ := c.Attach("b")
	checkErrno(t, "Rename across trees", c.Rename(aFID, "file.txt", bFID, "x", 0), unix.EXDEV)
}

func TestNewServerTreesErrors(t *testing.T) {
	root := testTree(t)
	for _, tc := range []struct {
		name  string
		trees []Tree
	}{
		{"none", nil},
		{"duplicate", []Tree{{Name: "x", Path: root}, {Name: "x", Path: root}}},
		{"long name", []Tree{{Name: strings.Repeat("n", MaxNameLen+1), Path: root}}},
		{"missing path", []Tree{{Name: "", Path: root}, {Name: "m", Path: filepath.Join(root, "missing")}}},
		{"file", []Tree{{Path: filepath.Join(root, "file.txt")}}},
	} {
		if s, err := newServerTrees(tc.trees); err == nil {
			s.shutdown()
			t.Errorf("%s: newServerTrees succeeded", tc.name)
		}
	}
}

func TestCreate(t *testing.T) {
	root := testTree(t)
	c := newRWClient(t, root)
	rootFID := mustRoot(t, c)
	old := unix.Umask(0o077)
	defer unix.Umask(old)

	fid, st, fd, err := c.Create(rootFID, "new.txt", unix.O_RDWR, 0o664, 1000, 1001)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	path := filepath.Join(root, "new.txt")
	checkStatMatches(t, "Create", st, path)
	if st.Mode != unix.S_IFREG|0o664 || st.UID != 1000 || st.GID != 1001 {
		t.Errorf("Create: mode %#o owner %d:%d, want 0100664 1000:1001 (no umask)", st.Mode, st.UID, st.GID)
	}
	if _, err := unix.Pwrite(fd, []byte("written"), 0); err != nil {
		t.Errorf("pwrite on created fd: %v", err)
	}
	buf := make([]byte, 16)
	if n, err := unix.Pread(fd, buf, 0); err != nil || string(buf[:n]) != "written" {
		t.Errorf("pread on created fd = %q, %v", buf[:n], err)
	}
	if fl, _ := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); fl&unix.FD_CLOEXEC == 0 {
		t.Errorf("created fd is not close-on-exec")
	}
	unix.Close(fd)
	if got := mustReadFile(t, path); got != "written" {
		t.Errorf("host file = %q", got)
	}
	// The FID is a normal FID.
	if st2, err := c.Stat(fid); err != nil || st2.Ino != st.Ino {
		t.Errorf("Stat(created) = %+v, %v", st2, err)
	}
	fd, err = c.Open(fid, unix.O_RDONLY)
	if err != nil {
		t.Errorf("Open(created): %v", err)
	} else {
		unix.Close(fd)
	}

	// The name exists now.
	_, _, fd, err = c.Create(rootFID, "new.txt", unix.O_RDWR, 0o644, 0, 0)
	if err == nil {
		unix.Close(fd)
	}
	checkErrno(t, "Create(existing)", err, unix.EEXIST)

	// Access modes and O_APPEND reach the descriptor; set-ID bits survive
	// the chown.
	for _, tc := range []struct {
		flags, wantAcc int
	}{
		{unix.O_RDONLY, unix.O_RDONLY},
		{unix.O_WRONLY | unix.O_TRUNC, unix.O_WRONLY},
		{unix.O_WRONLY | unix.O_APPEND | unix.O_CREAT | unix.O_EXCL | unix.O_CLOEXEC, unix.O_WRONLY},
	} {
		name := fmt.Sprintf("f%#x", tc.flags)
		fid, st, fd, err := c.Create(rootFID, name, tc.flags, 0o6755, 1000, 1000)
		if err != nil {
			t.Errorf("Create(%s): %v", name, err)
			continue
		}
		fl, _ := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
		if fl&unix.O_ACCMODE != tc.wantAcc || (fl&unix.O_APPEND != 0) != (tc.flags&unix.O_APPEND != 0) || fl&unix.O_NONBLOCK != 0 {
			t.Errorf("Create(%s): descriptor flags %#x", name, fl)
		}
		if st.Mode != unix.S_IFREG|0o6755 {
			t.Errorf("Create(%s): mode %#o, want 0106755", name, st.Mode)
		}
		unix.Close(fd)
		c.Close(fid)
	}

	for _, tc := range []struct {
		what  string
		dir   FID
		name  string
		flags int
		mode  uint32
		want  unix.Errno
	}{
		{"O_ACCMODE", rootFID, "x", unix.O_ACCMODE, 0o644, unix.EINVAL},
		{"O_DIRECTORY", rootFID, "x", unix.O_RDWR | unix.O_DIRECTORY, 0o644, unix.EINVAL},
		{"O_TMPFILE", rootFID, "x", unix.O_RDWR | unix.O_TMPFILE, 0o644, unix.EINVAL},
		{"O_PATH", rootFID, "x", unix.O_PATH, 0o644, unix.EINVAL},
		{"directory mode", rootFID, "x", unix.O_RDWR, unix.S_IFDIR | 0o755, unix.EINVAL},
		{"file dir", fid, "x", unix.O_RDWR, 0o644, unix.ENOTDIR},
		{"bad FID", 999, "x", unix.O_RDWR, 0o644, unix.EBADF},
		{"long name", rootFID, strings.Repeat("x", MaxNameLen+1), unix.O_RDWR, 0o644, unix.ENAMETOOLONG},
	} {
		_, _, fd, err := c.Create(tc.dir, tc.name, tc.flags, tc.mode, 0, 0)
		if err == nil {
			unix.Close(fd)
		}
		checkErrno(t, "Create("+tc.what+")", err, tc.want)
	}
	if _, err := os.Lstat(filepath.Join(root, "x")); !os.IsNotExist(err) {
		t.Errorf("failed Create left x behind: %v", err)
	}
}

func TestMkdirMknodSymlink(t *testing.T) {
	root := testTree(t)
	c := newRWClient(t, root)
	rootFID := mustRoot(t, c)
	old := unix.Umask(0o077)
	defer unix.Umask(old)

	dirFID, st, err := c.Mkdir(rootFID, "newdir", 0o2775, 1000, 1001)
	if err != nil {
		t.Fatalf("Mkdir: %v", err)
	}
	checkStatMatches(t, "Mkdir", st, filepath.Join(root, "newdir"))
	if st.Mode != unix.S_IFDIR|0o2775 || st.UID != 1000 || st.GID != 1001 {
		t.Errorf("Mkdir: mode %#o owner %d:%d", st.Mode, st.UID, st.GID)
	}
	// Usable as a directory straight away.
	if _, st, err := c.Mkdir(dirFID, "sub", 0o700, 0, 0); err != nil || st.Mode != unix.S_IFDIR|0o700 {
		t.Errorf("Mkdir(newdir/sub) = %#o, %v", st.Mode, err)
	}
	_, _, err = c.Mkdir(rootFID, "newdir", 0o755, 0, 0)
	checkErrno(t, "Mkdir(existing)", err, unix.EEXIST)
	_, _, err = c.Mkdir(rootFID, "x", unix.S_IFREG|0o755, 0, 0)
	checkErrno(t, "Mkdir(S_IFREG mode)", err, unix.EINVAL)

	for _, tc := range []struct {
		name     string
		mode     uint32
		fileType uint32
	}{
		{"fifo", unix.S_IFIFO | 0o640, unix.S_IFIFO},
		{"sock", unix.S_IFSOCK | 0o600, unix.S_IFSOCK},
		{"reg", unix.S_IFREG | 0o444, unix.S_IFREG},
		{"notype", 0o444, unix.S_IFREG},
	} {
		fid, st, err := c.Mknod(rootFID, tc.name, tc.mode, 1002, 1003)
		if err != nil {
			t.Errorf("Mknod(%s): %v", tc.name, err)
			continue
		}
		checkStatMatches(t, "Mknod("+tc.name+")", st, filepath.Join(root, tc.name))
		if st.FileType() != tc.fileType || st.Mode&0o7777 != tc.mode&0o7777 || st.UID != 1002 || st.GID != 1003 {
			t.Errorf("Mknod(%s): mode %#o owner %d:%d", tc.name, st.Mode, st.UID, st.GID)
		}
		c.Close(fid)
	}
	for _, tc := range []struct {
		name string
		mode uint32
		want unix.Errno
	}{
		{"chr", unix.S_IFCHR | 0o666, unix.EPERM},
		{"blk", unix.S_IFBLK | 0o666, unix.EPERM},
		{"dir", unix.S_IFDIR | 0o755, unix.EPERM},
		{"lnk", unix.S_IFLNK | 0o777, unix.EINVAL},
		{"bits", unix.S_IFIFO | 0o10000000, unix.EINVAL},
		{"fifo", unix.S_IFIFO | 0o644, unix.EEXIST},
	} {
		_, _, err := c.Mknod(rootFID, tc.name, tc.mode, 0, 0)
		checkErrno(t, "Mknod("+tc.name+")", err, tc.want)
	}

	linkFID, st, err := c.Symlink(rootFID, "newlink", "a/b/../../file.txt", 1004, 1005)
	if err != nil {
		t.Fatalf("Symlink: %v", err)
	}
	checkStatMatches(t, "Symlink", st, filepath.Join(root, "newlink"))
	if st.FileType() != unix.S_IFLNK || st.UID != 1004 || st.GID != 1005 {
		t.Errorf("Symlink: mode %#o owner %d:%d", st.Mode, st.UID, st.GID)
	}
	if target, err := c.Readlink(linkFID); err != nil || target != "a/b/../../file.txt" {
		t.Errorf("Readlink(new link) = %q, %v", target, err)
	}
	longTarget := strings.Repeat("t/", MaxSymlinkLen/2) + "x"
	if fid, _, err := c.Symlink(rootFID, "longlink", longTarget, 0, 0); err != nil {
		t.Errorf("Symlink(%d-byte target): %v", len(longTarget), err)
	} else if target, _ := c.Readlink(fid); target != longTarget {
		t.Errorf("long target read back as %d bytes", len(target))
	}
	_, _, err = c.Symlink(rootFID, "x", longTarget+"y", 0, 0)
	checkErrno(t, "Symlink(target too long)", err, unix.ENAMETOOLONG)
	_, _, err = c.Symlink(rootFID, "x", "", 0, 0)
	checkErrno(t, "Symlink(empty target)", err, unix.ENOENT)
	_, _, err = c.Symlink(rootFID, "x", "nul\x00", 0, 0)
	checkErrno(t, "Symlink(NUL in target)", err, unix.EINVAL)
	_, _, err = c.Symlink(rootFID, "newlink", "y", 0, 0)
	checkErrno(t, "Symlink(existing)", err, unix.EEXIST)
}

func TestLinkUnlink(t *testing.T) {
	root := testTree(t)
	c := newRWClient(t, root)
	rootFID := mustRoot(t, c)
	fileFID, _ := mustWalk(t, c, rootFID, "file.txt")
	bFID, _ := mustWalk(t, c, rootFID, "a", "b")

	st, err := c.Link(bFID, "hard", fileFID)
	if err != nil {
		t.Fatalf("Link: %v", err)
	}
	if st.Nlink != 2 || lstat(t, filepath.Join(root, "a", "b", "hard")).Ino != st.Ino {
		t.Errorf("Link: nlink %d, or the new name is another file", st.Nlink)
	}
	_, err = c.Link(bFID, "hard", fileFID)
	checkErrno(t, "Link(existing)", err, unix.EEXIST)
	_, err = c.Link(rootFID, "dirlink", bFID)
	checkErrno(t, "Link(directory)", err, unix.EPERM)
	_, err = c.Link(fileFID, "x", fileFID)
	checkErrno(t, "Link(into a file)", err, unix.ENOTDIR)
	_, err = c.Link(rootFID, "x", 999)
	checkErrno(t, "Link(bad target)", err, unix.EBADF)
	// A symlink links as itself.
	linkFID, _ := mustWalk(t, c, rootFID, "link-to-a")
	if _, err := c.Link(rootFID, "link2", linkFID); err != nil {
		t.Errorf("Link(symlink): %v", err)
	} else if target, _ := os.Readlink(filepath.Join(root, "link2")); target != "a" {
		t.Errorf("Link(symlink) made %q", target)
	}

	if err := c.Unlink(bFID, "hard", 0); err != nil {
		t.Errorf("Unlink: %v", err)
	}
	if st, _ := c.Stat(fileFID); st.Nlink != 1 {
		t.Errorf("nlink after Unlink = %d", st.Nlink)
	}
	checkErrno(t, "Unlink(missing)", c.Unlink(bFID, "hard", 0), unix.ENOENT)
	checkErrno(t, "Unlink(directory)", c.Unlink(rootFID, "empty", 0), unix.EISDIR)
	checkErrno(t, "Unlink(AT_REMOVEDIR on file)", c.Unlink(rootFID, "file.txt", unix.AT_REMOVEDIR), unix.ENOTDIR)
	checkErrno(t, "Unlink(nonempty dir)", c.Unlink(rootFID, "a", unix.AT_REMOVEDIR), unix.ENOTEMPTY)
	checkErrno(t, "Unlink(bad flags)", c.Unlink(rootFID, "file.txt", unix.AT_SYMLINK_NOFOLLOW), unix.EINVAL)
	if err := c.Unlink(rootFID, "empty", unix.AT_REMOVEDIR); err != nil {
		t.Errorf("Unlink(empty, AT_REMOVEDIR): %v", err)
	}
	if err := c.Unlink(rootFID, "link-to-a", 0); err != nil {
		t.Errorf("Unlink(symlink): %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "a")); err != nil {
		t.Errorf("unlinking a symlink removed its target: %v", err)
	}
	// The FID of an unlinked file still stats, but cannot be reopened.
	if err := c.Unlink(rootFID, "file.txt", 0); err != nil {
		t.Fatal(err)
	}
	if st, err := c.Stat(fileFID); err != nil || st.Nlink != 0 {
		t.Errorf("Stat(unlinked) = nlink %d, %v", st.Nlink, err)
	}
	_, err = c.Open(fileFID, unix.O_RDONLY)
	checkErrno(t, "Open(unlinked)", err, unix.ENOENT)
}

func TestRename(t *testing.T) {
	root := testTree(t)
	c := newRWClient(t, root)
	rootFID := mustRoot(t, c)
	aFID, _ := mustWalk(t, c, rootFID, "a")
	bFID, _ := mustWalk(t, c, aFID, "b")
	fileFID, _ := mustWalk(t, c, rootFID, "file.txt")
	cFID, _ := mustWalk(t, c, bFID, "c.txt")

	// Move file.txt into a/b; its FID follows it, so Open still works.
	if err := c.Rename(rootFID, "file.txt", bFID, "moved.txt", 0); err != nil {
		t.Fatalf("Rename: %v", err)
	}
	if got := mustReadFile(t, filepath.Join(root, "a", "b", "moved.txt")); got != testFileContent {
		t.Errorf("moved file = %q", got)
	}
	fd, err := c.Open(fileFID, unix.O_RDWR)
	if err != nil {
		t.Errorf("Open after Rename: %v", err)
	} else {
		unix.Close(fd)
	}
	// And again, back through a different FID of the same directory.
	b2FID, _ := mustWalk(t, c, rootFID, "a", "b")
	if err := c.Rename(b2FID, "moved.txt", rootFID, "back.txt", 0); err != nil {
		t.Fatalf("Rename back: %v", err)
	}
	if fd, err := c.Open(fileFID, unix.O_RDONLY); err != nil {
		t.Errorf("Open after second Rename: %v", err)
	} else {
		unix.Close(fd)
	}

	// RENAME_NOREPLACE refuses to overwrite.
	checkErrno(t, "Rename(NOREPLACE)", c.Rename(rootFID, "back.txt", bFID, "c.txt", unix.RENAME_NOREPLACE), unix.EEXIST)
	// RENAME_EXCHANGE swaps, and the FIDs of both follow.
	if err := c.Rename(rootFID, "back.txt", bFID, "c.txt", unix.RENAME_EXCHANGE); err != nil {
		t.Fatalf("Rename(EXCHANGE): %v", err)
	}
	for _, fid := range []FID{fileFID, cFID} {
		if fd, err := c.Open(fid, unix.O_RDONLY); err != nil {
			t.Errorf("Open after exchange: %v", err)
		} else {
			unix.Close(fd)
		}
	}
	// Overwriting: the overwritten file's FID is stale, the moved one's not.
	if err := c.Rename(rootFID, "back.txt", bFID, "c.txt", 0); err != nil {
		t.Fatalf("Rename over: %v", err)
	}
	_, err = c.Open(fileFID, unix.O_RDONLY)
	checkErrno(t, "Open(overwritten)", err, unix.ESTALE)
	if fd, err := c.Open(cFID, unix.O_RDONLY); err != nil {
		t.Errorf("Open(moved over): %v", err)
	} else {
		unix.Close(fd)
	}

	checkErrno(t, "Rename(WHITEOUT)", c.Rename(bFID, "c.txt", rootFID, "w", unix.RENAME_WHITEOUT), unix.EINVAL)
	checkErrno(t, "Rename(NOREPLACE|EXCHANGE)", c.Rename(bFID, "c.txt", rootFID, "w", unix.RENAME_NOREPLACE|unix.RENAME_EXCHANGE), unix.EINVAL)
	checkErrno(t, "Rename(missing)", c.Rename(rootFID, "missing", rootFID, "w", 0), unix.ENOENT)
	checkErrno(t, "Rename(dir into its child)", c.Rename(rootFID, "a", bFID, "a", 0), unix.EINVAL)
	checkErrno(t, "Rename(from a file)", c.Rename(cFID, "x", rootFID, "w", 0), unix.ENOTDIR)

	// Renaming a directory keeps its FIDs and their children working.
	if err := c.Rename(rootFID, "a", rootFID, "renamed", 0); err != nil {
		t.Fatal(err)
	}
	if fd, err := c.Open(cFID, unix.O_RDONLY); err != nil {
		t.Errorf("Open(file in renamed dir): %v", err)
	} else {
		unix.Close(fd)
	}
	if _, _, err := c.Mkdir(bFID, "in-renamed", 0o755, 0, 0); err != nil {
		t.Errorf("Mkdir in renamed dir: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "renamed", "b", "in-renamed")); err != nil {
		t.Error(err)
	}
}

func TestSetAttr(t *testing.T) {
	root := testTree(t)
	c := newRWClient(t, root)
	rootFID := mustRoot(t, c)
	fileFID, _ := mustWalk(t, c, rootFID, "file.txt")
	path := filepath.Join(root, "file.txt")

	st, err := c.SetAttr(fileFID, SetAttrArgs{Mask: unix.STATX_UID | unix.STATX_GID | unix.STATX_MODE, Mode: 0o4750, UID: 1000, GID: 1001})
	if err != nil {
		t.Fatalf("SetAttr(owner, mode): %v", err)
	}
	checkStatMatches(t, "SetAttr", st, path)
	if st.Mode != unix.S_IFREG|0o4750 || st.UID != 1000 || st.GID != 1001 {
		t.Errorf("SetAttr: mode %#o owner %d:%d", st.Mode, st.UID, st.GID)
	}
	// UID alone leaves the GID.
	if st, err := c.SetAttr(fileFID, SetAttrArgs{Mask: unix.STATX_UID, UID: 7}); err != nil || st.UID != 7 || st.GID != 1001 {
		t.Errorf("SetAttr(uid) = %d:%d, %v", st.UID, st.GID, err)
	}
	// The mode may carry the file's own type.
	if _, err := c.SetAttr(fileFID, SetAttrArgs{Mask: unix.STATX_MODE, Mode: unix.S_IFREG | 0o644}); err != nil {
		t.Errorf("SetAttr(S_IFREG|0644): %v", err)
	}
	_, err = c.SetAttr(fileFID, SetAttrArgs{Mask: unix.STATX_MODE, Mode: unix.S_IFDIR | 0o644})
	checkErrno(t, "SetAttr(wrong type bits)", err, unix.EINVAL)

	for _, size := range []uint64{5, 100000, 0} {
		st, err := c.SetAttr(fileFID, SetAttrArgs{Mask: unix.STATX_SIZE, Size: size})
		if err != nil || st.Size != int64(size) || lstat(t, path).Size != int64(size) {
			t.Errorf("SetAttr(size %d) = %d, %v", size, st.Size, err)
		}
	}
	_, err = c.SetAttr(fileFID, SetAttrArgs{Mask: unix.STATX_SIZE, Size: 1 << 63})
	checkErrno(t, "SetAttr(huge size)", err, unix.EINVAL)
	_, err = c.SetAttr(rootFID, SetAttrArgs{Mask: unix.STATX_SIZE})
	checkErrno(t, "SetAttr(size of dir)", err, unix.EISDIR)

	st, err = c.SetAttr(fileFID, SetAttrArgs{Mask: unix.STATX_ATIME | unix.STATX_MTIME,
		Atime: unix.Timespec{Sec: 1000, Nsec: 5}, Mtime: unix.Timespec{Sec: 2000, Nsec: 7}})
	if err != nil || st.Atime != (unix.Timespec{Sec: 1000, Nsec: 5}) || st.Mtime != (unix.Timespec{Sec: 2000, Nsec: 7}) {
		t.Errorf("SetAttr(times) = %v %v, %v", st.Atime, st.Mtime, err)
	}
	// MTIME alone leaves atime; UTIME_OMIT and UTIME_NOW are honoured.
	st, err = c.SetAttr(fileFID, SetAttrArgs{Mask: unix.STATX_MTIME, Atime: unix.Timespec{Sec: 1}, Mtime: unix.Timespec{Sec: 3000}})
	if err != nil || st.Atime.Sec != 1000 || st.Mtime.Sec != 3000 {
		t.Errorf("SetAttr(mtime) = %v %v, %v", st.Atime, st.Mtime, err)
	}
	st, err = c.SetAttr(fileFID, SetAttrArgs{Mask: unix.STATX_ATIME | unix.STATX_MTIME,
		Atime: unix.Timespec{Nsec: unix.UTIME_NOW}, Mtime: unix.Timespec{Nsec: unix.UTIME_OMIT}})
	if err != nil || st.Atime.Sec < 1000000000 || st.Mtime.Sec != 3000 {
		t.Errorf("SetAttr(UTIME_NOW, UTIME_OMIT) = %v %v, %v", st.Atime, st.Mtime, err)
	}
	_, err = c.SetAttr(fileFID, SetAttrArgs{Mask: unix.STATX_MTIME, Mtime: unix.Timespec{Nsec: 2e9}})
	checkErrno(t, "SetAttr(bad nsec)", err, unix.EINVAL)
	_, err = c.SetAttr(fileFID, SetAttrArgs{Mask: unix.STATX_BTIME})
	checkErrno(t, "SetAttr(unknown mask bit)", err, unix.EINVAL)
	if st, err := c.SetAttr(fileFID, SetAttrArgs{}); err != nil || st.Ino != lstat(t, path).Ino {
		t.Errorf("SetAttr(nothing) = %+v, %v", st, err)
	}

	// Symlinks: the link itself changes, its mode cannot.
	linkFID, _ := mustWalk(t, c, rootFID, "link-to-a")
	_, err = c.SetAttr(linkFID, SetAttrArgs{Mask: unix.STATX_MODE, Mode: 0o600})
	checkErrno(t, "SetAttr(mode of symlink)", err, unix.EOPNOTSUPP)
	_, err = c.SetAttr(linkFID, SetAttrArgs{Mask: unix.STATX_SIZE})
	checkErrno(t, "SetAttr(size of symlink)", err, unix.EINVAL)
	st, err = c.SetAttr(linkFID, SetAttrArgs{Mask: unix.STATX_UID | unix.STATX_GID | unix.STATX_MTIME, UID: 55, GID: 56, Mtime: unix.Timespec{Sec: 77}})
	if err != nil || st.UID != 55 || st.Mtime.Sec != 77 {
		t.Errorf("SetAttr(symlink owner, mtime) = %+v, %v", st, err)
	}
	if a := lstat(t, filepath.Join(root, "a")); a.Uid == 55 || a.Mtim.Sec == 77 {
		t.Errorf("SetAttr on a symlink changed its target")
	}
	// A directory's mode.
	if st, err := c.SetAttr(rootFID, SetAttrArgs{Mask: unix.STATX_MODE, Mode: 0o1777}); err != nil || st.Mode != unix.S_IFDIR|0o1777 {
		t.Errorf("SetAttr(dir mode) = %#o, %v", st.Mode, err)
	}
}

func TestOpenWrite(t *testing.T) {
	root := testTree(t)
	c := newRWClient(t, root)
	rootFID := mustRoot(t, c)
	fileFID, _ := mustWalk(t, c, rootFID, "file.txt")
	path := filepath.Join(root, "file.txt")

	fd, err := c.Open(fileFID, unix.O_WRONLY|unix.O_APPEND)
	if err != nil {
		t.Fatalf("Open(O_WRONLY|O_APPEND): %v", err)
	}
	if fl, _ := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0); fl&unix.O_ACCMODE != unix.O_WRONLY || fl&unix.O_APPEND == 0 || fl&unix.O_NONBLOCK != 0 {
		t.Errorf("Open(O_WRONLY|O_APPEND) flags %#x", fl)
	}
	unix.Write(fd, []byte("more"))
	unix.Close(fd)
	if got := mustReadFile(t, path); got != testFileContent+"more" {
		t.Errorf("after append: %q", got)
	}

	fd, err = c.Open(fileFID, unix.O_RDWR|unix.O_TRUNC|unix.O_NONBLOCK)
	if err != nil {
		t.Fatalf("Open(O_RDWR|O_TRUNC): %v", err)
	}
	if fl, _ := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0); fl&unix.O_ACCMODE != unix.O_RDWR || fl&unix.O_NONBLOCK == 0 {
		t.Errorf("Open(O_RDWR|O_NONBLOCK) flags %#x", fl)
	}
	unix.Pwrite(fd, []byte("new"), 0)
	unix.Close(fd)
	if got := mustReadFile(t, path); got != "new" {
		t.Errorf("after truncate: %q", got)
	}

	for _, tc := range []struct {
		fid   FID
		flags int
		want  unix.Errno
	}{
		{fileFID, unix.O_RDONLY | unix.O_TRUNC, unix.EINVAL},
		{fileFID, unix.O_RDWR | unix.O_CREAT, unix.EINVAL},
		{fileFID, unix.O_RDWR | unix.O_TMPFILE, unix.EINVAL},
		{fileFID, unix.O_ACCMODE, unix.EINVAL},
		{rootFID, unix.O_WRONLY, unix.EISDIR},
		{rootFID, unix.O_RDWR | unix.O_DIRECTORY, unix.EISDIR},
		{rootFID, unix.O_WRONLY | unix.O_TRUNC, unix.EISDIR},
	} {
		fd, err := c.Open(tc.fid, tc.flags)
		if err == nil {
			unix.Close(fd)
		}
		checkErrno(t, fmt.Sprintf("Open(%#x)", tc.flags), err, tc.want)
	}
	if got := mustReadFile(t, path); got != "new" {
		t.Errorf("failed opens changed the file: %q", got)
	}

	// Special files stay refused for writing too.
	fifoFID, _, err := c.Mknod(rootFID, "fifo", unix.S_IFIFO|0o666, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Open(fifoFID, unix.O_WRONLY)
	checkErrno(t, "Open(fifo, O_WRONLY)", err, unix.EACCES)
	linkFID, _ := mustWalk(t, c, rootFID, "link-to-a")
	_, err = c.Open(linkFID, unix.O_WRONLY)
	checkErrno(t, "Open(symlink, O_WRONLY)", err, unix.ELOOP)
}

func TestXattrs(t *testing.T) {
	root := testTree(t)
	path := filepath.Join(root, "file.txt")
	if err := unix.Lsetxattr(path, "user.probe", []byte("1"), 0); err != nil {
		t.Skipf("no user xattrs on %s: %v", root, err)
	}
	if err := unix.Lremovexattr(path, "user.probe"); err != nil {
		t.Fatal(err)
	}
	c := newRWClient(t, root)
	rootFID := mustRoot(t, c)
	fileFID, _ := mustWalk(t, c, rootFID, "file.txt")

	if err := c.Setxattr(fileFID, "user.one", []byte("value one"), 0); err != nil {
		t.Fatalf("Setxattr: %v", err)
	}
	buf := make([]byte, 64)
	if n, err := unix.Lgetxattr(path, "user.one", buf); err != nil || string(buf[:n]) != "value one" {
		t.Errorf("host sees %q, %v", buf[:n], err)
	}
	if v, n, err := c.Getxattr(fileFID, "user.one", 100); err != nil || string(v) != "value one" || n != 9 {
		t.Errorf("Getxattr = %q, %d, %v", v, n, err)
	}
	if v, n, err := c.Getxattr(fileFID, "user.one", 0); err != nil || v != nil || n != 9 {
		t.Errorf("Getxattr(size 0) = %q, %d, %v", v, n, err)
	}
	_, _, err := c.Getxattr(fileFID, "user.one", 3)
	checkErrno(t, "Getxattr(small size)", err, unix.ERANGE)
	_, _, err = c.Getxattr(fileFID, "user.missing", 100)
	checkErrno(t, "Getxattr(missing)", err, unix.ENODATA)
	checkErrno(t, "Setxattr(CREATE existing)", c.Setxattr(fileFID, "user.one", []byte("x"), unix.XATTR_CREATE), unix.EEXIST)
	checkErrno(t, "Setxattr(REPLACE missing)", c.Setxattr(fileFID, "user.two", []byte("x"), unix.XATTR_REPLACE), unix.ENODATA)
	checkErrno(t, "Setxattr(bad flags)", c.Setxattr(fileFID, "user.two", []byte("x"), 4), unix.EINVAL)
	if err := c.Setxattr(fileFID, "user.empty", nil, unix.XATTR_CREATE); err != nil {
		t.Errorf("Setxattr(empty value): %v", err)
	}
	big := bytes.Repeat([]byte{0xa5}, MaxXattrValueLen)
	if err := c.Setxattr(fileFID, "user.big", big, 0); err != nil {
		// Not every file system takes 64 KiB values (ext4 without ea_inode
		// caps them at a block).
		checkErrno(t, "Setxattr(64 KiB)", err, unix.ENOSPC)
		big = bytes.Repeat([]byte{0xa5}, 1000)
		if err := c.Setxattr(fileFID, "user.big", big, 0); err != nil {
			t.Errorf("Setxattr(1000 bytes): %v", err)
		}
	}
	if v, _, err := c.Getxattr(fileFID, "user.big", MaxXattrValueLen+100); err != nil || !bytes.Equal(v, big) {
		t.Errorf("Getxattr(big) = %d bytes, %v", len(v), err)
	}
	checkErrno(t, "Setxattr(too big)", c.Setxattr(fileFID, "user.x", make([]byte, MaxXattrValueLen+1), 0), unix.E2BIG)

	// Only user attributes are listed.
	if err := unix.Lsetxattr(path, "trusted.hidden", []byte("1"), 0); err != nil {
		t.Logf("cannot set a trusted attribute here: %v", err)
	}
	names, n, err := c.Listxattr(fileFID, 1000)
	want := []string{"user.big", "user.empty", "user.one"}
	if err != nil || strings.Join(sorted(names), ",") != strings.Join(want, ",") || n != len("user.big\x00user.empty\x00user.one\x00") {
		t.Errorf("Listxattr = %q, %d, %v; want %q", names, n, err, want)
	}
	if names, n2, err := c.Listxattr(fileFID, 0); err != nil || names != nil || n2 != n {
		t.Errorf("Listxattr(size 0) = %q, %d, %v; want length %d", names, n2, err, n)
	}
	_, _, err = c.Listxattr(fileFID, n-1)
	checkErrno(t, "Listxattr(small size)", err, unix.ERANGE)

	if err := c.Removexattr(fileFID, "user.one"); err != nil {
		t.Errorf("Removexattr: %v", err)
	}
	checkErrno(t, "Removexattr(missing)", c.Removexattr(fileFID, "user.one"), unix.ENODATA)

	// Other namespaces answer as Linux does to an unprivileged process.
	_, _, err = c.Getxattr(fileFID, "trusted.hidden", 100)
	checkErrno(t, "Getxattr(trusted)", err, unix.ENODATA)
	checkErrno(t, "Setxattr(trusted)", c.Setxattr(fileFID, "trusted.x", []byte("1"), 0), unix.EPERM)
	checkErrno(t, "Removexattr(trusted)", c.Removexattr(fileFID, "trusted.hidden"), unix.EPERM)
	for _, name := range []string{"security.selinux", "system.posix_acl_access", "other.x", "user"} {
		_, _, err = c.Getxattr(fileFID, name, 100)
		checkErrno(t, "Getxattr("+name+")", err, unix.EOPNOTSUPP)
		checkErrno(t, "Setxattr("+name+")", c.Setxattr(fileFID, name, []byte("1"), 0), unix.EOPNOTSUPP)
		checkErrno(t, "Removexattr("+name+")", c.Removexattr(fileFID, name), unix.EOPNOTSUPP)
	}
	_, _, err = c.Getxattr(fileFID, "", 100)
	checkErrno(t, "Getxattr(empty name)", err, unix.ERANGE)
	_, _, err = c.Getxattr(fileFID, "user."+strings.Repeat("x", MaxXattrNameLen), 100)
	checkErrno(t, "Getxattr(long name)", err, unix.ERANGE)

	// Directories have user attributes; symlinks, FIFOs and sockets do not.
	if err := c.Setxattr(rootFID, "user.dir", []byte("d"), 0); err != nil {
		t.Errorf("Setxattr(dir): %v", err)
	}
	if names, _, err := c.Listxattr(rootFID, 100); err != nil || len(names) != 1 || names[0] != "user.dir" {
		t.Errorf("Listxattr(dir) = %q, %v", names, err)
	}
	linkFID, _ := mustWalk(t, c, rootFID, "link-to-a")
	fifoFID, _, err := c.Mknod(rootFID, "fifo", unix.S_IFIFO|0o644, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	for what, fid := range map[string]FID{"symlink": linkFID, "fifo": fifoFID} {
		checkErrno(t, "Setxattr("+what+")", c.Setxattr(fid, "user.x", []byte("1"), 0), unix.EPERM)
		_, _, err := c.Getxattr(fid, "user.x", 10)
		checkErrno(t, "Getxattr("+what+")", err, unix.ENODATA)
		checkErrno(t, "Removexattr("+what+")", c.Removexattr(fid, "user.x"), unix.EPERM)
		if names, n, err := c.Listxattr(fid, 100); err != nil || len(names) != 0 || n != 0 {
			t.Errorf("Listxattr(%s) = %q, %v", what, names, err)
		}
	}
	_, _, err = c.Getxattr(999, "user.x", 10)
	checkErrno(t, "Getxattr(bad FID)", err, unix.EBADF)
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func TestFilterUserXattrs(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"user.a\x00", "user.a\x00"},
		{"security.selinux\x00user.a\x00trusted.b\x00user.c\x00", "user.a\x00user.c\x00"},
		{"user.a\x00user.unterminated", "user.a\x00"},
		{"usera\x00user\x00", ""},
	} {
		if got := filterUserXattrs([]byte(tc.in)); string(got) != tc.want {
			t.Errorf("filterUserXattrs(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestMainTrees(t *testing.T) {
	roDir, rwDir := testTree(t), testTree(t)
	var stderr discard
	for _, args := range [][]string{
		{"--fd", "3"},
		{"--rw", "--mount", "x=" + rwDir, "--fd", "3"},
		{"--mount", "noequals", "--fd", "3"},
		{"--mount", "x=:rw", "--fd", "3"},
	} {
		if code := run(args, &stderr); code != 2 {
			t.Errorf("run(%q) = %d, want 2", args, code)
		}
	}
	serverEnd, clientEnd := socketPair(t)
	unix.Close(clientEnd)
	if code := run([]string{"--mount", "x=" + rwDir, "--mount", "x=" + roDir, "--fd", fmt.Sprint(serverEnd)}, &stderr); code != 1 {
		t.Errorf("run(duplicate mount) = %d, want 1", code)
	}

	serverEnd, clientEnd = socketPair(t)
	codec := make(chan int, 1)
	go func() {
		codec <- Main([]string{"--root", roDir, "--mount", "rw=" + rwDir + ":rw", "--mount", "ro=" + rwDir + ":ro",
			"--mount", "def=" + rwDir, "--fd", fmt.Sprint(serverEnd)})
	}()
	c, err := NewClient(clientEnd)
	if err != nil {
		t.Fatal(err)
	}
	rootFID := mustRoot(t, c)
	_, _, err = c.Mkdir(rootFID, "x", 0o755, 0, 0)
	checkErrno(t, "Mkdir on --root", err, unix.EROFS)
	for name, want := range map[string]unix.Errno{"rw": 0, "ro": unix.EROFS, "def": unix.EROFS} {
		fid, _, err := c.Attach(name)
		if err != nil {
			t.Errorf("Attach(%s): %v", name, err)
			continue
		}
		_, _, err = c.Mkdir(fid, "made-"+name, 0o755, 0, 0)
		if want == 0 && err != nil || want != 0 && err != want {
			t.Errorf("Mkdir on --mount %s: %v, want %v", name, err, want)
		}
	}
	c.Shutdown()
	if code := <-codec; code != 0 {
		t.Errorf("Main = %d, want 0", code)
	}

	// --rw makes --root writable.
	serverEnd, clientEnd = socketPair(t)
	go func() { codec <- Main([]string{"--root", rwDir, "--rw", "--fd", fmt.Sprint(serverEnd)}) }()
	c, err = NewClient(clientEnd)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Mkdir(mustRoot(t, c), "via-rw", 0o755, 0, 0); err != nil {
		t.Errorf("Mkdir with --rw: %v", err)
	}
	c.Shutdown()
	<-codec
}

func TestParseMount(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Tree
		ok   bool
	}{
		{"a=/x", Tree{Name: "a", Path: "/x", ReadOnly: true}, true},
		{"a=/x:rw", Tree{Name: "a", Path: "/x"}, true},
		{"a=/x:ro", Tree{Name: "a", Path: "/x", ReadOnly: true}, true},
		{"a=/x:y:rw", Tree{Name: "a", Path: "/x:y"}, true},
		{"=/x", Tree{Name: "", Path: "/x", ReadOnly: true}, true},
		{"a=b=c", Tree{Name: "a", Path: "b=c", ReadOnly: true}, true},
		{"a", Tree{}, false},
		{"a=", Tree{}, false},
		{"a=:ro", Tree{}, false},
	} {
		got, err := parseMount(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseMount(%q) = %+v, %v", tc.in, got, err)
		}
	}
}

// TestRenameAfterHostMove renames a directory into one of its former
// descendants after a host process moved that descendant out: the server's
// FIDs must keep working and every descriptor must be closed at the end.
func TestRenameAfterHostMove(t *testing.T) {
	root := testTree(t)
	before := countOpenFDs(t)
	clientEnd, done := startServerTrees(t, []Tree{{Path: root}}, 0)
	c, err := NewClient(clientEnd)
	if err != nil {
		t.Fatal(err)
	}
	rootFID := mustRoot(t, c)
	aFID, _ := mustWalk(t, c, rootFID, "a")
	bFID, _ := mustWalk(t, c, aFID, "b")
	fileFID, _ := mustWalk(t, c, bFID, "c.txt")
	if err := os.Rename(filepath.Join(root, "a", "b"), filepath.Join(root, "b")); err != nil {
		t.Fatal(err)
	}
	if err := c.Rename(rootFID, "a", bFID, "a", 0); err != nil {
		t.Fatalf("Rename(a into b): %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "b", "a")); err != nil {
		t.Error(err)
	}
	if fd, err := c.Open(fileFID, unix.O_RDONLY); err != nil {
		t.Errorf("Open(b/c.txt): %v", err)
	} else {
		unix.Close(fd)
	}
	if _, _, err := c.Mkdir(aFID, "x", 0o755, 0, 0); err != nil {
		t.Errorf("Mkdir in moved a: %v", err)
	}
	c.Shutdown()
	waitServer(t, done)
	if after := countOpenFDs(t); after > before {
		t.Errorf("open descriptors grew from %d to %d", before, after)
	}
}

// TestNoDescriptorLeakWrites is TestNoDescriptorLeak for the modifying and
// extended attribute operations, failed ones included.
func TestNoDescriptorLeakWrites(t *testing.T) {
	root := testTree(t)
	before := settledFDCount(t)
	clientEnd, done := startServerTrees(t, []Tree{{Path: root}}, 0)
	c, err := NewClient(clientEnd)
	if err != nil {
		t.Fatal(err)
	}
	rootFID := mustRoot(t, c)
	for i := range 10 {
		name := fmt.Sprint("f", i)
		fid, _, fd, err := c.Create(rootFID, name, unix.O_RDWR, 0o644, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		unix.Close(fd)
		_, _, fd, _ = c.Create(rootFID, name, unix.O_RDWR, 0o644, 0, 0) // EEXIST
		closeFD(fd)
		dir, _, _ := c.Mkdir(rootFID, "d"+name, 0o755, 0, 0)
		c.Mknod(dir, "p", unix.S_IFIFO|0o644, 0, 0)
		c.Symlink(dir, "s", "x", 0, 0)
		c.Link(dir, "h", fid)
		c.Rename(rootFID, name, dir, "moved", 0)
		c.Rename(dir, "moved", dir, "h", unix.RENAME_EXCHANGE)
		c.Rename(dir, "p", dir, "h", 0)
		c.SetAttr(fid, SetAttrArgs{Mask: unix.STATX_SIZE | unix.STATX_MODE, Size: 10, Mode: 0o600})
		c.Setxattr(fid, "user.x", []byte("1"), 0)
		c.Getxattr(fid, "user.x", 10)
		c.Listxattr(fid, 100)
		c.Removexattr(fid, "user.x")
		if fd, err := c.Open(fid, unix.O_WRONLY|unix.O_TRUNC); err == nil {
			unix.Close(fd)
		}
		c.Unlink(dir, "s", 0)
	}
	if err := c.Shutdown(); err != nil {
		t.Fatal(err)
	}
	waitServer(t, done)
	if after := settledFDCount(t); after != before {
		t.Errorf("%d descriptors open after the session, %d before", after, before)
	}
}

// TestClientMalformedWriteReplies answers each new request with a
// successful header and results that do not decode: the client must report
// a broken connection, never a bare errno, and must not panic.
func TestClientMalformedWriteReplies(t *testing.T) {
	calls := map[string]func(c *Client) error{
		"Attach": func(c *Client) error { _, _, err := c.Attach("x"); return err },
		"Create": func(c *Client) error {
			_, _, fd, err := c.Create(1, "x", unix.O_RDWR, 0o644, 0, 0)
			closeFD(fd)
			return err
		},
		"Mkdir":       func(c *Client) error { _, _, err := c.Mkdir(1, "x", 0o755, 0, 0); return err },
		"Mknod":       func(c *Client) error { _, _, err := c.Mknod(1, "x", unix.S_IFIFO, 0, 0); return err },
		"Symlink":     func(c *Client) error { _, _, err := c.Symlink(1, "x", "y", 0, 0); return err },
		"Link":        func(c *Client) error { _, err := c.Link(1, "x", 2); return err },
		"Unlink":      func(c *Client) error { return c.Unlink(1, "x", 0) },
		"Rename":      func(c *Client) error { return c.Rename(1, "x", 1, "y", 0) },
		"SetAttr":     func(c *Client) error { _, err := c.SetAttr(1, SetAttrArgs{}); return err },
		"Getxattr":    func(c *Client) error { _, _, err := c.Getxattr(1, "user.x", 10); return err },
		"Getxattr0":   func(c *Client) error { _, _, err := c.Getxattr(1, "user.x", 0); return err },
		"Setxattr":    func(c *Client) error { return c.Setxattr(1, "user.x", []byte("v"), 0) },
		"Listxattr":   func(c *Client) error { _, _, err := c.Listxattr(1, 10); return err },
		"Listxattr0":  func(c *Client) error { _, _, err := c.Listxattr(1, 0); return err },
		"Removexattr": func(c *Client) error { return c.Removexattr(1, "user.x") },
	}
	for name, call := range calls {
		for _, junk := range [][]byte{{1, 2, 3}, bytes.Repeat([]byte{0xff}, 200)} {
			serverEnd, clientEnd := socketPair(t)
			go func() {
				defer unix.Close(serverEnd)
				buf := make([]byte, maxMessageSize)
				n, _, _, _, err := unix.Recvmsg(serverEnd, buf, nil, 0)
				if err != nil || n < requestHeaderSize {
					return
				}
				var e encoder
				d := decoder{buf: buf[:n]}
				tag := d.u32()
				o := op(d.u16())
				e.responseHeader(tag, o, 0)
				e.buf = append(e.buf, junk...)
				_ = unix.Sendmsg(serverEnd, e.buf, nil, nil, unix.MSG_NOSIGNAL)
			}()
			c, err := NewClient(clientEnd)
			if err != nil {
				t.Fatal(err)
			}
			err = call(c)
			if err == nil {
				t.Errorf("%s with %d junk bytes: no error", name, len(junk))
			} else if _, bare := err.(unix.Errno); bare {
				t.Errorf("%s with %d junk bytes: bare errno %v", name, len(junk), err)
			}
			c.Shutdown()
		}
	}
}
