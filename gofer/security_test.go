package gofer

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// escapeTree creates a served tree whose symlinks point out of it, next to
// a secret file the client must never read:
//
//	outside/secret.txt               the host file to protect
//	served/to-secret      ->  <abs path of outside/secret.txt>
//	served/to-shadow      ->  /etc/shadow
//	served/up             ->  ../../
//	served/up-secret      ->  ../outside/secret.txt
//	served/dir/up         ->  ..
func escapeTree(t *testing.T) (served, secret string) {
	t.Helper()
	base := t.TempDir()
	outside := filepath.Join(base, "outside")
	served = filepath.Join(base, "served")
	mustMkdirAll(t, outside)
	mustMkdirAll(t, filepath.Join(served, "dir"))
	secret = filepath.Join(outside, "secret.txt")
	mustWriteFile(t, secret, "TOP SECRET\n")
	mustSymlink(t, secret, filepath.Join(served, "to-secret"))
	mustSymlink(t, "/etc/shadow", filepath.Join(served, "to-shadow"))
	mustSymlink(t, "../../", filepath.Join(served, "up"))
	mustSymlink(t, "../outside/secret.txt", filepath.Join(served, "up-secret"))
	mustSymlink(t, "..", filepath.Join(served, "dir", "up"))
	return served, secret
}

func TestSymlinksNeverFollowed(t *testing.T) {
	served, secret := escapeTree(t)
	c := newTestClient(t, served)
	rootFID := mustRoot(t, c)
	secretIno := lstat(t, secret).Ino

	for _, tc := range []struct {
		path   []string
		target string
	}{
		{[]string{"to-secret"}, secret},
		{[]string{"to-shadow"}, "/etc/shadow"},
		{[]string{"up", "outside", "secret.txt"}, "../../"},
		{[]string{"up-secret"}, "../outside/secret.txt"},
		{[]string{"dir", "up", "..", "outside"}, ".."},
	} {
		name := strings.Join(tc.path, "/")
		fids, stats, err := c.Walk(rootFID, tc.path)
		if err != nil {
			t.Errorf("Walk(%s): %v", name, err)
			continue
		}
		// The walk stops right after the symlink, which comes back as
		// itself.
		last := len(fids) - 1
		if stats[last].FileType() != unix.S_IFLNK || stats[last].Ino == secretIno {
			t.Errorf("Walk(%s) ended at mode %#o ino %d, want the symlink", name, stats[last].Mode, stats[last].Ino)
		}
		if len(tc.path) > 1 && len(fids) == len(tc.path) {
			t.Errorf("Walk(%s) went past the symlink", name)
		}
		if target, err := c.Readlink(fids[last]); err != nil || target != tc.target {
			t.Errorf("Readlink(%s) = %q, %v; want %q", name, target, err, tc.target)
		}
		// Opening the link never opens its target.
		for _, flags := range []int{unix.O_RDONLY, unix.O_RDONLY | unix.O_NOFOLLOW, unix.O_RDONLY | unix.O_DIRECTORY} {
			fd, err := c.Open(fids[last], flags)
			if err == nil {
				unix.Close(fd)
				t.Errorf("Open(%s, %#x) succeeded", name, flags)
			}
		}
		_, err = c.Open(fids[last], unix.O_RDONLY)
		checkErrno(t, "Open("+name+")", err, unix.ELOOP)
		// Nor can the link be used as a directory.
		_, _, err = c.Walk(fids[last], []string{"secret.txt"})
		checkErrno(t, "Walk from symlink "+name, err, unix.ENOTDIR)
		_, err = c.Getdents(fids[last], 0, 4096)
		checkErrno(t, "Getdents("+name+")", err, unix.ENOTDIR)
		// Stat describes the link, not its target.
		if st, err := c.Stat(fids[last]); err != nil || st.FileType() != unix.S_IFLNK {
			t.Errorf("Stat(%s) = mode %#o, %v; want a symlink", name, st.Mode, err)
		}
	}
}

func TestNoWayUp(t *testing.T) {
	served, _ := escapeTree(t)
	c := newTestClient(t, served)
	rootFID := mustRoot(t, c)
	dirFID, _ := mustWalk(t, c, rootFID, "dir")

	for _, tc := range []struct {
		name string
		want unix.Errno
	}{
		{"..", unix.EINVAL},
		{".", unix.EINVAL},
		{"", unix.EINVAL},
		{"dir/up", unix.EINVAL},
		{"a/b", unix.EINVAL},
		{"/etc", unix.EINVAL},
		{"../outside", unix.EINVAL},
		{"nul\x00byte", unix.EINVAL},
		{strings.Repeat("n", MaxNameLen+1), unix.ENAMETOOLONG},
	} {
		for _, from := range []FID{rootFID, dirFID} {
			fids, _, err := c.Walk(from, []string{tc.name})
			checkErrno(t, "Walk("+tc.name+")", err, tc.want)
			if len(fids) != 0 {
				t.Errorf("Walk(%q) returned %d FIDs", tc.name, len(fids))
			}
		}
	}
	// A bad name after good ones: the good ones, then the error.
	fids, _, err := c.Walk(rootFID, []string{"dir", ".."})
	checkErrno(t, "Walk(dir, ..)", err, unix.EINVAL)
	if len(fids) != 1 {
		t.Errorf("Walk(dir, ..) returned %d FIDs, want 1", len(fids))
	}
	// The longest legal name is only missing, not refused.
	_, _, err = c.Walk(rootFID, []string{strings.Repeat("n", MaxNameLen)})
	checkErrno(t, "Walk(255-byte name)", err, unix.ENOENT)
}

func TestSpecialFilesRefused(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mknod of a device node needs root")
	}
	root := t.TempDir()
	if err := unix.Mknod(filepath.Join(root, "null"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))); err != nil {
		t.Fatalf("mknod char 1:3: %v", err)
	}
	if err := unix.Mknod(filepath.Join(root, "loop"), unix.S_IFBLK|0o666, int(unix.Mkdev(7, 0))); err != nil {
		t.Fatalf("mknod block 7:0: %v", err)
	}
	if err := unix.Mkfifo(filepath.Join(root, "fifo"), 0o666); err != nil {
		t.Fatalf("mkfifo: %v", err)
	}
	sock, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(sock)
	if err := unix.Bind(sock, &unix.SockaddrUnix{Name: filepath.Join(root, "sock")}); err != nil {
		t.Fatalf("bind: %v", err)
	}

	c := newTestClient(t, root)
	rootFID := mustRoot(t, c)
	for _, tc := range []struct {
		name     string
		fileType uint32
		want     unix.Errno
	}{
		{"null", unix.S_IFCHR, unix.EACCES},
		{"loop", unix.S_IFBLK, unix.EACCES},
		{"fifo", unix.S_IFIFO, unix.EACCES},
		{"sock", unix.S_IFSOCK, unix.ENXIO},
	} {
		// Walk and Stat work: the node is held O_PATH.
		fid, st := mustWalk(t, c, rootFID, tc.name)
		if st.FileType() != tc.fileType {
			t.Errorf("%s: mode %#o, want type %#o", tc.name, st.Mode, tc.fileType)
		}
		if tc.name == "null" && st.Rdev != unix.Mkdev(1, 3) {
			t.Errorf("null: rdev %#x, want 1:3", st.Rdev)
		}
		start := time.Now()
		fd, err := c.Open(fid, unix.O_RDONLY)
		if err == nil {
			unix.Close(fd)
		}
		checkErrno(t, "Open("+tc.name+")", err, tc.want)
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("Open(%s) blocked for %v", tc.name, d)
		}
	}
}

// TestOpenStale replaces a walked file by another under the same name: Open
// must not hand out the new file under the old FID.
func TestOpenStale(t *testing.T) {
	root := testTree(t)
	c := newTestClient(t, root)
	fid, _ := mustWalk(t, c, mustRoot(t, c), "file.txt")

	replacement := filepath.Join(root, "replacement")
	mustWriteFile(t, replacement, "other file\n")
	if err := os.Rename(replacement, filepath.Join(root, "file.txt")); err != nil {
		t.Fatal(err)
	}
	_, err := c.Open(fid, unix.O_RDONLY)
	checkErrno(t, "Open(replaced file)", err, unix.ESTALE)

	// Even a device node swapped in is refused without being read.
	if os.Geteuid() == 0 {
		fid, _ := mustWalk(t, c, mustRoot(t, c), "a", "b", "c.txt")
		path := filepath.Join(root, "a", "b", "c.txt")
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
		if err := unix.Mkfifo(path, 0o666); err != nil {
			t.Fatal(err)
		}
		_, err := c.Open(fid, unix.O_RDONLY)
		checkErrno(t, "Open(file replaced by a FIFO)", err, unix.ESTALE)
	}

	// A renamed directory is still itself: it is reopened through its own
	// descriptor, not by name.
	dirFID, _ := mustWalk(t, c, mustRoot(t, c), "a")
	if err := os.Rename(filepath.Join(root, "a"), filepath.Join(root, "renamed")); err != nil {
		t.Fatal(err)
	}
	fd, err := c.Open(dirFID, unix.O_RDONLY|unix.O_DIRECTORY)
	if err != nil {
		t.Fatalf("Open(renamed directory): %v", err)
	}
	unix.Close(fd)
}
