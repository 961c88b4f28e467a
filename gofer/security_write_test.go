package gofer

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// writeEscapeTree is escapeTree plus dangling symlinks that point at names
// outside the served tree, which a create that followed them would make:
//
//	served/to-new-outside   ->  <abs path of outside/new>
//	served/to-outside-dir   ->  <abs path of outside>
//	served/up-new           ->  ../outside/new
func writeEscapeTree(t *testing.T) (served, outside, secret string) {
	t.Helper()
	served, secret = escapeTree(t)
	outside = filepath.Dir(secret)
	mustSymlink(t, filepath.Join(outside, "new"), filepath.Join(served, "to-new-outside"))
	mustSymlink(t, outside, filepath.Join(served, "to-outside-dir"))
	mustSymlink(t, "../outside/new", filepath.Join(served, "up-new"))
	return served, outside, secret
}

// checkOutsideUntouched fails unless outside holds exactly secret.txt with
// its original content, owner, mode and times.
func checkOutsideUntouched(t *testing.T, outside string, before unix.Stat_t) {
	t.Helper()
	entries, err := os.ReadDir(outside)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "secret.txt" {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("outside directory now holds %q", names)
	}
	secret := filepath.Join(outside, "secret.txt")
	if got := mustReadFile(t, secret); got != "TOP SECRET\n" {
		t.Errorf("secret changed to %q", got)
	}
	after := lstat(t, secret)
	if after.Mode != before.Mode || after.Uid != before.Uid || after.Gid != before.Gid ||
		after.Nlink != before.Nlink || after.Mtim != before.Mtim || after.Size != before.Size {
		t.Errorf("secret's metadata changed: %+v, was %+v", after, before)
	}
	buf := make([]byte, 1024)
	if n, _ := unix.Llistxattr(secret, buf); n != 0 {
		t.Errorf("secret gained extended attributes %q", buf[:n])
	}
	if od := lstat(t, outside); od.Mode&0o7777 != 0o755 && od.Mode&0o7777 != 0o700 {
		t.Errorf("outside directory mode changed to %#o", od.Mode)
	}
}

// TestWritesNeverFollowSymlinks tries every modifying operation on names
// that are symlinks pointing out of the tree: each one either fails or acts
// on the link itself, and nothing outside changes.
func TestWritesNeverFollowSymlinks(t *testing.T) {
	served, outside, secret := writeEscapeTree(t)
	before := lstat(t, secret)
	c := newRWClient(t, served)
	rootFID := mustRoot(t, c)
	dirFID, _ := mustWalk(t, c, rootFID, "dir")
	links := []string{"to-secret", "to-new-outside", "to-outside-dir", "up-new", "up", "up-secret"}
	fileFID, _, fd, err := c.Create(dirFID, "plain", unix.O_RDONLY, 0o644, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	unix.Close(fd)

	for _, name := range links {
		_, _, fd, err := c.Create(rootFID, name, unix.O_RDWR|unix.O_TRUNC, 0o666, 0, 0)
		if err == nil {
			unix.Close(fd)
		}
		checkErrno(t, "Create("+name+")", err, unix.EEXIST)
		_, _, err = c.Mkdir(rootFID, name, 0o777, 0, 0)
		checkErrno(t, "Mkdir("+name+")", err, unix.EEXIST)
		_, _, err = c.Mknod(rootFID, name, unix.S_IFIFO|0o666, 0, 0)
		checkErrno(t, "Mknod("+name+")", err, unix.EEXIST)
		_, _, err = c.Symlink(rootFID, name, "/etc/passwd", 0, 0)
		checkErrno(t, "Symlink("+name+")", err, unix.EEXIST)
		_, err = c.Link(rootFID, name, fileFID)
		checkErrno(t, "Link("+name+")", err, unix.EEXIST)
		checkErrno(t, "Unlink("+name+", AT_REMOVEDIR)", c.Unlink(rootFID, name, unix.AT_REMOVEDIR), unix.ENOTDIR)

		// The walked link's FID: attribute changes hit the link or fail.
		fids, stats, err := c.Walk(rootFID, []string{name})
		if err != nil || stats[0].FileType() != unix.S_IFLNK {
			t.Fatalf("Walk(%s): %v", name, err)
		}
		link := fids[0]
		_, err = c.SetAttr(link, SetAttrArgs{Mask: unix.STATX_MODE, Mode: 0o777})
		checkErrno(t, "SetAttr(mode of "+name+")", err, unix.EOPNOTSUPP)
		_, err = c.SetAttr(link, SetAttrArgs{Mask: unix.STATX_SIZE, Size: 0})
		checkErrno(t, "SetAttr(size of "+name+")", err, unix.EINVAL)
		if st, err := c.SetAttr(link, SetAttrArgs{Mask: unix.STATX_UID | unix.STATX_GID | unix.STATX_ATIME | unix.STATX_MTIME,
			UID: 4242, GID: 4242, Atime: unix.Timespec{Sec: 1}, Mtime: unix.Timespec{Sec: 1}}); err != nil || st.Ino != stats[0].Ino {
			t.Errorf("SetAttr(owner of %s) = %+v, %v; want the link changed", name, st, err)
		}
		checkErrno(t, "Setxattr("+name+")", c.Setxattr(link, "user.x", []byte("1"), 0), unix.EPERM)
		checkErrno(t, "Removexattr("+name+")", c.Removexattr(link, "user.x"), unix.EPERM)
		for _, flags := range []int{unix.O_WRONLY, unix.O_RDWR | unix.O_TRUNC, unix.O_WRONLY | unix.O_APPEND} {
			fd, err := c.Open(link, flags)
			if err == nil {
				unix.Close(fd)
			}
			checkErrno(t, "Open("+name+", write)", err, unix.ELOOP)
		}
		// Linking the link's FID links the link itself.
		st, err := c.Link(dirFID, "hard-"+name, link)
		if err != nil || st.FileType() != unix.S_IFLNK || st.Ino != stats[0].Ino {
			t.Errorf("Link(%s) = %+v, %v; want the link itself", name, st, err)
		}
		// Renaming over the link replaces the link, and renaming the link
		// moves the link.
		if fid, _, fd, err := c.Create(dirFID, "victim-"+name, unix.O_WRONLY, 0o600, 0, 0); err != nil {
			t.Errorf("Create(victim): %v", err)
		} else {
			unix.Close(fd)
			c.Close(fid)
		}
		if err := c.Rename(rootFID, name, dirFID, "moved-"+name, 0); err != nil {
			t.Errorf("Rename(%s): %v", name, err)
		}
		if err := c.Rename(dirFID, "victim-"+name, dirFID, "moved-"+name, 0); err != nil {
			t.Errorf("Rename over %s: %v", name, err)
		}
		if err := c.Unlink(dirFID, "hard-"+name, 0); err != nil {
			t.Errorf("Unlink(hard-%s): %v", name, err)
		}
	}
	checkOutsideUntouched(t, outside, before)
	if target, err := os.Readlink(filepath.Join(served, "dir", "up")); err != nil || target != ".." {
		t.Errorf("served/dir/up = %q, %v", target, err)
	}
}

// TestWriteNamesChecked sends names that are not single components to every
// modifying operation, from the root and from a subdirectory whose ".."
// would leave the tree's root.
func TestWriteNamesChecked(t *testing.T) {
	served, outside, secret := writeEscapeTree(t)
	before := lstat(t, secret)
	c := newRWClient(t, served)
	rootFID := mustRoot(t, c)
	dirFID, _ := mustWalk(t, c, rootFID, "dir")
	fileFID, _, fd, err := c.Create(dirFID, "f", unix.O_RDWR, 0o644, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	unix.Close(fd)

	for _, tc := range []struct {
		name string
		want unix.Errno
	}{
		{"..", unix.EINVAL},
		{".", unix.EINVAL},
		{"", unix.EINVAL},
		{"../outside/new", unix.EINVAL},
		{"../../outside", unix.EINVAL},
		{"/tmp/evil", unix.EINVAL},
		{"a/b", unix.EINVAL},
		{"nul\x00byte", unix.EINVAL},
		{strings.Repeat("n", MaxNameLen+1), unix.ENAMETOOLONG},
	} {
		for _, from := range []FID{rootFID, dirFID} {
			what := func(op string) string { return op + "(" + tc.name + ")" }
			_, _, fd, err := c.Create(from, tc.name, unix.O_RDWR, 0o644, 0, 0)
			if err == nil {
				unix.Close(fd)
			}
			checkErrno(t, what("Create"), err, tc.want)
			_, _, err = c.Mkdir(from, tc.name, 0o755, 0, 0)
			checkErrno(t, what("Mkdir"), err, tc.want)
			_, _, err = c.Mknod(from, tc.name, unix.S_IFIFO|0o644, 0, 0)
			checkErrno(t, what("Mknod"), err, tc.want)
			_, _, err = c.Symlink(from, tc.name, "x", 0, 0)
			checkErrno(t, what("Symlink"), err, tc.want)
			_, err = c.Link(from, tc.name, fileFID)
			checkErrno(t, what("Link"), err, tc.want)
			checkErrno(t, what("Unlink"), c.Unlink(from, tc.name, 0), tc.want)
			checkErrno(t, what("Unlink dir"), c.Unlink(from, tc.name, unix.AT_REMOVEDIR), tc.want)
			checkErrno(t, what("Rename from"), c.Rename(dirFID, "f", from, tc.name, 0), tc.want)
			checkErrno(t, what("Rename to"), c.Rename(from, tc.name, dirFID, "g", 0), tc.want)
		}
	}
	checkOutsideUntouched(t, outside, before)
	if _, err := os.Stat(filepath.Join(served, "dir", "f")); err != nil {
		t.Errorf("dir/f is gone: %v", err)
	}
	if _, err := os.Lstat(filepath.Join(served, "..", "g")); !os.IsNotExist(err) {
		t.Errorf("something was made above the tree: %v", err)
	}
}

// TestRenameCannotEscape checks that directories cannot be moved into
// themselves, and that the tree's root cannot be renamed or removed.
func TestRenameCannotEscape(t *testing.T) {
	served, outside, secret := writeEscapeTree(t)
	before := lstat(t, secret)
	c := newRWClient(t, served)
	rootFID := mustRoot(t, c)
	dirFID, _ := mustWalk(t, c, rootFID, "dir")
	subFID, _, err := c.Mkdir(dirFID, "sub", 0o755, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	checkErrno(t, "Rename(dir into its child)", c.Rename(rootFID, "dir", subFID, "dir", 0), unix.EINVAL)
	checkErrno(t, "Rename(dir into itself)", c.Rename(rootFID, "dir", dirFID, "x", 0), unix.EINVAL)
	checkErrno(t, "Rename(exchange with child)", c.Rename(rootFID, "dir", dirFID, "sub", unix.RENAME_EXCHANGE), unix.EINVAL)
	// Move a directory away and back while holding FIDs inside it: they stay
	// in the tree.
	if err := c.Rename(rootFID, "dir", subFID, "..x", 0); err == nil {
		t.Errorf("Rename into own subdirectory succeeded")
	}
	if err := c.Rename(dirFID, "sub", rootFID, "top", 0); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Mkdir(subFID, "inside", 0o755, 0, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(served, "top", "inside")); err != nil {
		t.Errorf("Mkdir through a moved directory's FID: %v", err)
	}
	checkOutsideUntouched(t, outside, before)
}

// TestNoDeviceNodes checks that no operation creates a device node: Mknod
// refuses them, and RENAME_WHITEOUT (which makes a 0:0 character device) is
// refused.
func TestNoDeviceNodes(t *testing.T) {
	root := testTree(t)
	c := newRWClient(t, root)
	rootFID := mustRoot(t, c)
	for _, mode := range []uint32{unix.S_IFCHR | 0o666, unix.S_IFBLK | 0o666, unix.S_IFCHR} {
		_, _, err := c.Mknod(rootFID, "dev", mode, 0, 0)
		checkErrno(t, "Mknod(device)", err, unix.EPERM)
	}
	checkErrno(t, "Rename(WHITEOUT)", c.Rename(rootFID, "file.txt", rootFID, "w", unix.RENAME_WHITEOUT), unix.EINVAL)
	err := filepath.Walk(root, func(path string, info os.FileInfo, err error) error {
		if err == nil && info.Mode()&(os.ModeDevice|os.ModeCharDevice) != 0 {
			t.Errorf("device node %s", path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestOpenWriteStale replaces a walked file by another under the same name:
// writes through the old FID must not reach the new file.
func TestOpenWriteStale(t *testing.T) {
	root := testTree(t)
	c := newRWClient(t, root)
	fid, _ := mustWalk(t, c, mustRoot(t, c), "file.txt")
	replacement := filepath.Join(root, "replacement")
	mustWriteFile(t, replacement, "other file\n")
	if err := os.Rename(replacement, filepath.Join(root, "file.txt")); err != nil {
		t.Fatal(err)
	}
	// O_TRUNC must not truncate the replacement before noticing.
	_, err := c.Open(fid, unix.O_RDWR|unix.O_TRUNC)
	checkErrno(t, "Open(replaced file, O_TRUNC)", err, unix.ESTALE)
	_, err = c.SetAttr(fid, SetAttrArgs{Mask: unix.STATX_SIZE, Size: 0})
	checkErrno(t, "SetAttr(size of replaced file)", err, unix.ESTALE)
	checkErrno(t, "Setxattr(replaced file)", c.Setxattr(fid, "user.x", []byte("1"), 0), unix.ESTALE)
	if got := mustReadFile(t, filepath.Join(root, "file.txt")); got != "other file\n" {
		t.Errorf("replacement changed to %q", got)
	}
}
