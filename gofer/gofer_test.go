package gofer

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

func TestRootWalkStat(t *testing.T) {
	root := testTree(t)
	c := newTestClient(t, root)

	rootFID, rootStat, err := c.Root()
	if err != nil {
		t.Fatalf("Root: %v", err)
	}
	hostRoot := lstat(t, root)
	if rootStat.Ino != hostRoot.Ino || rootStat.Dev != hostRoot.Dev || rootStat.FileType() != unix.S_IFDIR {
		t.Errorf("Root stat = %+v, want ino %d dev %d directory", rootStat, hostRoot.Ino, hostRoot.Dev)
	}

	fids, stats, err := c.Walk(rootFID, []string{"a", "b", "c.txt"})
	if err != nil || len(fids) != 3 || len(stats) != 3 {
		t.Fatalf("Walk(a/b/c.txt) = %v, %v, %v", fids, stats, err)
	}
	for i, path := range []string{"a", "a/b", "a/b/c.txt"} {
		host := lstat(t, filepath.Join(root, path))
		if got := stats[i]; got.Ino != host.Ino || got.Mode != host.Mode || got.Size != host.Size ||
			got.Nlink != uint32(host.Nlink) || got.UID != host.Uid || got.Mtime != host.Mtim {
			t.Errorf("Walk stat of %s = %+v, host has %+v", path, got, host)
		}
	}
	st, err := c.Stat(fids[2])
	if err != nil {
		t.Fatalf("Stat: %v", err)
	}
	if st != stats[2] {
		t.Errorf("Stat = %+v, Walk said %+v", st, stats[2])
	}
	if st.Size != int64(len(testFileContent)) || st.FileType() != unix.S_IFREG {
		t.Errorf("Stat of c.txt = %+v", st)
	}

	_, _, err = c.Walk(FID(4242), []string{"a"})
	checkErrno(t, "Walk(bad FID)", err, unix.EBADF)
	_, _, err = c.Walk(rootFID, make([]string, MaxWalkNames+1))
	checkErrno(t, "Walk(too many names)", err, unix.EINVAL)

	// An empty walk is a no-op.
	fids, _, err = c.Walk(rootFID, nil)
	if err != nil || len(fids) != 0 {
		t.Errorf("Walk(nil) = %v, %v", fids, err)
	}
}

func TestWalkStopsEarly(t *testing.T) {
	root := testTree(t)
	c := newTestClient(t, root)
	rootFID := mustRoot(t, c)

	// A missing component: the components before it, and ENOENT.
	fids, stats, err := c.Walk(rootFID, []string{"a", "missing", "c.txt"})
	checkErrno(t, "Walk(a/missing/c.txt)", err, unix.ENOENT)
	if len(fids) != 1 || len(stats) != 1 || stats[0].FileType() != unix.S_IFDIR {
		t.Errorf("Walk(a/missing/c.txt) returned %d results, want a", len(fids))
	}

	// Through a regular file.
	fids, _, err = c.Walk(rootFID, []string{"file.txt", "x"})
	checkErrno(t, "Walk(file.txt/x)", err, unix.ENOTDIR)
	if len(fids) != 1 {
		t.Errorf("Walk(file.txt/x) returned %d results, want 1", len(fids))
	}

	// After a symlink, with no error: the caller resolves it.
	fids, stats, err = c.Walk(rootFID, []string{"link-to-a", "b", "c.txt"})
	if err != nil || len(fids) != 1 || stats[0].FileType() != unix.S_IFLNK {
		t.Fatalf("Walk(link-to-a/b/c.txt) = %d results, %v; want the symlink alone", len(fids), err)
	}
	target, err := c.Readlink(fids[0])
	if err != nil || target != "a" {
		t.Errorf("Readlink(link-to-a) = %q, %v", target, err)
	}

	// The first component missing: nothing, and ENOENT.
	fids, _, err = c.Walk(rootFID, []string{"nope"})
	checkErrno(t, "Walk(nope)", err, unix.ENOENT)
	if len(fids) != 0 {
		t.Errorf("Walk(nope) returned %d results", len(fids))
	}
}

func TestOpenAndPread(t *testing.T) {
	root := testTree(t)
	c := newTestClient(t, root)
	fid, _ := mustWalk(t, c, mustRoot(t, c), "a", "b", "c.txt")

	fd, err := c.Open(fid, unix.O_RDONLY)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer unix.Close(fd)
	buf := make([]byte, 64)
	n, err := unix.Pread(fd, buf, 6)
	if err != nil || string(buf[:n]) != testFileContent[6:] {
		t.Errorf("pread = %q, %v; want %q", buf[:n], err, testFileContent[6:])
	}
	flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if err != nil || flags&unix.O_ACCMODE != unix.O_RDONLY || flags&unix.O_NONBLOCK != 0 {
		t.Errorf("donated fd flags = %#x, %v; want read-only, blocking", flags, err)
	}
	if fdFlags, _ := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); fdFlags&unix.FD_CLOEXEC == 0 {
		t.Errorf("donated fd is not close-on-exec")
	}

	// O_NONBLOCK is kept when asked for.
	fd2, err := c.Open(fid, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_NOFOLLOW)
	if err != nil {
		t.Fatalf("Open(O_NONBLOCK): %v", err)
	}
	defer unix.Close(fd2)
	if flags, _ := unix.FcntlInt(uintptr(fd2), unix.F_GETFL, 0); flags&unix.O_NONBLOCK == 0 {
		t.Errorf("O_NONBLOCK was dropped: flags %#x", flags)
	}

	// A directory opens too, and can be read natively.
	rootFID := mustRoot(t, c)
	dirFD, err := c.Open(rootFID, unix.O_RDONLY|unix.O_DIRECTORY)
	if err != nil {
		t.Fatalf("Open(root, O_DIRECTORY): %v", err)
	}
	defer unix.Close(dirFD)
	if n, err := unix.Getdents(dirFD, make([]byte, 4096)); err != nil || n == 0 {
		t.Errorf("getdents on donated directory fd = %d, %v", n, err)
	}
}

func TestOpenFlags(t *testing.T) {
	root := testTree(t)
	c := newTestClient(t, root)
	rootFID := mustRoot(t, c)
	fileFID, _ := mustWalk(t, c, rootFID, "file.txt")

	for _, tc := range []struct {
		flags int
		want  unix.Errno
	}{
		{unix.O_WRONLY, unix.EROFS},
		{unix.O_RDWR, unix.EROFS},
		{unix.O_RDONLY | unix.O_CREAT, unix.EROFS},
		{unix.O_RDONLY | unix.O_TRUNC, unix.EROFS},
		{unix.O_RDONLY | unix.O_APPEND, unix.EROFS},
		{unix.O_TMPFILE | unix.O_RDWR, unix.EROFS},
		{unix.O_ACCMODE, unix.EINVAL},
		{unix.O_RDONLY | unix.O_PATH, unix.EINVAL},
		{unix.O_RDONLY | unix.O_DIRECT, unix.EINVAL},
		{unix.O_RDONLY | unix.O_DIRECTORY, unix.ENOTDIR},
	} {
		fd, err := c.Open(fileFID, tc.flags)
		if err == nil {
			unix.Close(fd)
		}
		checkErrno(t, fmt.Sprintf("Open(file, %#x)", tc.flags), err, tc.want)
	}
	// Accepted no-op flags.
	fd, err := c.Open(fileFID, unix.O_RDONLY|unix.O_CLOEXEC|linuxOLargefile)
	if err != nil {
		t.Errorf("Open(O_CLOEXEC|O_LARGEFILE): %v", err)
	} else {
		unix.Close(fd)
	}
	_, err = c.Open(FID(12345), unix.O_RDONLY)
	checkErrno(t, "Open(bad FID)", err, unix.EBADF)
}

func TestGetdentsLargeDirectory(t *testing.T) {
	root := t.TempDir()
	big := filepath.Join(root, "big")
	mustMkdirAll(t, big)
	// Mostly symlinks, as in /usr/bin, and because they are several times
	// cheaper to create than inodes on the ext4 of the test machines.
	const entries = 5000
	bigFD, err := unix.Open(big, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(bigFD)
	for i := range entries {
		// Names of varying length push the listing over several replies.
		name := fmt.Sprintf("entry-%05d-%s", i, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"[:i%32])
		if i%10 == 1 {
			err = unix.Mknodat(bigFD, name, unix.S_IFREG|0o644, 0)
		} else {
			err = unix.Symlinkat("subdir", bigFD, name)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	mustMkdirAll(t, filepath.Join(big, "subdir"))

	c := newTestClient(t, root)
	dirFID, _ := mustWalk(t, c, mustRoot(t, c), "big")

	want, err := os.ReadDir(big)
	if err != nil {
		t.Fatal(err)
	}
	for _, maxBytes := range []int{300, 4096, MaxGetdentsBytes} {
		t.Run(fmt.Sprint(maxBytes), func(t *testing.T) {
			var got []string
			types := map[string]uint8{}
			calls := 0
			for off := uint64(0); ; {
				dirents, err := c.Getdents(dirFID, off, maxBytes)
				if err != nil {
					t.Fatalf("Getdents(off %d): %v", off, err)
				}
				calls++
				if dirents == nil || len(dirents) == 0 {
					if dirents == nil {
						t.Fatalf("Getdents returned nil, want an empty slice at end")
					}
					break
				}
				if size := linuxDirentSize(dirents); size > maxBytes {
					t.Fatalf("Getdents(%d) returned %d bytes of dirent64", maxBytes, size)
				}
				for _, d := range dirents {
					got = append(got, d.Name)
					types[d.Name] = d.Type
				}
				off = dirents[len(dirents)-1].Off
			}
			if calls < 3 {
				t.Errorf("listing took %d calls; expected it to need several", calls)
			}
			if !slices.Contains(got, ".") || !slices.Contains(got, "..") {
				t.Errorf("listing lacks . or ..")
			}
			got = slices.DeleteFunc(got, func(n string) bool { return n == "." || n == ".." })
			slices.Sort(got)
			if len(got) != len(want) {
				t.Fatalf("got %d entries, os.ReadDir has %d", len(got), len(want))
			}
			for i, de := range want {
				if got[i] != de.Name() {
					t.Fatalf("entry %d = %q, want %q", i, got[i], de.Name())
				}
			}
			if types["subdir"] != unix.DT_DIR || types["entry-00001-x"] != unix.DT_REG ||
				types["entry-00002-xx"] != unix.DT_LNK {
				t.Errorf("types: subdir %d, entry-00001-x %d, entry-00002-xx %d",
					types["subdir"], types["entry-00001-x"], types["entry-00002-xx"])
			}
		})
	}
}

// linuxDirentSize is how many bytes dirents take as linux_dirent64 records.
func linuxDirentSize(dirents []Dirent) int {
	size := 0
	for _, d := range dirents {
		size += (19 + len(d.Name) + 1 + 7) &^ 7
	}
	return size
}

func TestGetdentsErrors(t *testing.T) {
	root := testTree(t)
	c := newTestClient(t, root)
	rootFID := mustRoot(t, c)
	fileFID, _ := mustWalk(t, c, rootFID, "file.txt")

	_, err := c.Getdents(fileFID, 0, 4096)
	checkErrno(t, "Getdents(file)", err, unix.ENOTDIR)
	_, err = c.Getdents(rootFID, 0, 8)
	checkErrno(t, "Getdents(buffer too small for one entry)", err, unix.EINVAL)
	_, err = c.Getdents(rootFID, 0, MaxGetdentsBytes+1)
	checkErrno(t, "Getdents(over MaxGetdentsBytes)", err, unix.EINVAL)
	_, err = c.Getdents(FID(999), 0, 4096)
	checkErrno(t, "Getdents(bad FID)", err, unix.EBADF)

	emptyFID, _ := mustWalk(t, c, rootFID, "empty")
	dirents, err := listDir(c, emptyFID)
	if err != nil || len(dirents) != 2 {
		t.Errorf("listing empty: %v, %v; want . and ..", dirents, err)
	}
}

func TestReadlinkAndStatFS(t *testing.T) {
	root := testTree(t)
	c := newTestClient(t, root)
	rootFID := mustRoot(t, c)

	fids, _, err := c.Walk(rootFID, []string{"link-to-a"})
	if err != nil || len(fids) != 1 {
		t.Fatalf("Walk(link-to-a) = %v, %v", fids, err)
	}
	if target, err := c.Readlink(fids[0]); err != nil || target != "a" {
		t.Errorf("Readlink = %q, %v; want \"a\"", target, err)
	}
	_, err = c.Readlink(rootFID)
	checkErrno(t, "Readlink(directory)", err, unix.EINVAL)

	sfs, err := c.StatFS(rootFID)
	if err != nil {
		t.Fatalf("StatFS: %v", err)
	}
	var host unix.Statfs_t
	if err := unix.Statfs(root, &host); err != nil {
		t.Fatal(err)
	}
	// The tree is served read-only, which StatFS reports.
	if sfs.Type != uint64(host.Type) || sfs.Bsize != uint64(host.Bsize) || sfs.Blocks != host.Blocks ||
		sfs.Namelen != uint64(host.Namelen) || sfs.Flags != uint64(host.Flags)|unix.ST_RDONLY {
		t.Errorf("StatFS = %+v, host has %+v", sfs, host)
	}
	// A symlink's file system can be asked too (fstatfs on O_PATH).
	if _, err := c.StatFS(fids[0]); err != nil {
		t.Errorf("StatFS(symlink): %v", err)
	}
}

func TestClose(t *testing.T) {
	root := testTree(t)
	c := newTestClient(t, root)
	rootFID := mustRoot(t, c)
	fids, _, err := c.Walk(rootFID, []string{"a", "b", "c.txt"})
	if err != nil {
		t.Fatal(err)
	}
	// Closing a parent's FID keeps the child usable: the child holds its
	// parent's descriptor, which Open needs.
	if err := c.Close(fids[0], fids[1]); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if fd, err := c.Open(fids[2], unix.O_RDONLY); err != nil {
		t.Errorf("Open after closing the parents' FIDs: %v", err)
	} else {
		unix.Close(fd)
	}
	_, err = c.Stat(fids[0])
	checkErrno(t, "Stat(closed FID)", err, unix.EBADF)

	// Unknown FIDs fail the call but the known ones are still released.
	err = c.Close(fids[0], fids[2])
	checkErrno(t, "Close(closed, live)", err, unix.EBADF)
	_, err = c.Stat(fids[2])
	checkErrno(t, "Stat after Close", err, unix.EBADF)

	if err := c.Close(); err != nil {
		t.Errorf("Close(): %v", err)
	}
}

func TestCloseManyFIDs(t *testing.T) {
	root := testTree(t)
	c := newTestClient(t, root)
	rootFID := mustRoot(t, c)
	// More than fit one Close request. Root FIDs share the root's node, so
	// this costs the server no descriptors.
	fids := []FID{rootFID}
	for len(fids) < maxCloseFIDs+10 {
		fids = append(fids, mustRoot(t, c))
	}
	if err := c.Close(fids...); err != nil {
		t.Fatalf("Close(%d FIDs): %v", len(fids), err)
	}
	_, err := c.Stat(fids[len(fids)-1])
	checkErrno(t, "Stat(closed)", err, unix.EBADF)
}

func TestFIDLimit(t *testing.T) {
	root := testTree(t)
	c := newTestClientWithLimit(t, root, 3)
	rootFID := mustRoot(t, c)
	fids, _, err := c.Walk(rootFID, []string{"a", "b", "c.txt"})
	checkErrno(t, "Walk over the FID limit", err, unix.EMFILE)
	if len(fids) != 2 {
		t.Fatalf("Walk over the limit returned %d FIDs, want 2", len(fids))
	}
	_, _, err = c.Root()
	checkErrno(t, "Root over the FID limit", err, unix.EMFILE)
	if err := c.Close(fids...); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Root(); err != nil {
		t.Errorf("Root after Close: %v", err)
	}
}

// TestNoDescriptorLeak checks that the server closes every descriptor it
// opened once the client hangs up, FIDs left open included.
func TestNoDescriptorLeak(t *testing.T) {
	root := testTree(t)
	before := settledFDCount(t)
	clientEnd, done := startServer(t, root, 0)
	c, err := NewClient(clientEnd)
	if err != nil {
		t.Fatal(err)
	}
	rootFID := mustRoot(t, c)
	for range 20 {
		fids, _, err := c.Walk(rootFID, []string{"a", "b", "c.txt"})
		if err != nil {
			t.Fatal(err)
		}
		fd, err := c.Open(fids[2], unix.O_RDONLY)
		if err != nil {
			t.Fatal(err)
		}
		unix.Close(fd)
		if _, err := c.Getdents(fids[1], 0, 4096); err != nil {
			t.Fatal(err)
		}
		_, _, _ = c.Walk(fids[0], []string{"missing"})
		_ = c.Close(fids[1]) // the child still holds b's descriptor
	}
	if open := countOpenFDs(t); open < before+60 {
		t.Fatalf("only %d descriptors open during the session (from %d); is the test counting right?", open, before)
	}
	if err := c.Shutdown(); err != nil {
		t.Fatal(err)
	}
	waitServer(t, done)
	if after := settledFDCount(t); after != before {
		t.Errorf("%d descriptors open after the session, %d before", after, before)
	}
}

func TestConcurrentCalls(t *testing.T) {
	root := testTree(t)
	c := newTestClient(t, root)
	rootFID := mustRoot(t, c)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			for range 200 {
				fids, _, err := c.Walk(rootFID, []string{"a", "b", "c.txt"})
				if err != nil {
					errs <- err
					return
				}
				if _, err := c.Stat(fids[2]); err != nil {
					errs <- err
					return
				}
				if err := c.Close(fids...); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestShutdown(t *testing.T) {
	root := testTree(t)
	clientEnd, done := startServer(t, root, 0)
	c, err := NewClient(clientEnd)
	if err != nil {
		t.Fatal(err)
	}
	rootFID := mustRoot(t, c)
	if err := c.Shutdown(); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	waitServer(t, done)
	if _, err := c.Stat(rootFID); err != ErrClientShutdown {
		t.Errorf("Stat after Shutdown: %v, want ErrClientShutdown", err)
	}
	if err := c.Shutdown(); err != nil {
		t.Errorf("second Shutdown: %v", err)
	}
}

func TestServerGone(t *testing.T) {
	serverEnd, clientEnd := socketPair(t)
	c, err := NewClient(clientEnd)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Shutdown()
	unix.Close(serverEnd)
	_, _, err = c.Root()
	if err == nil {
		t.Fatal("Root on a dead connection succeeded")
	}
	if _, ok := err.(unix.Errno); ok {
		t.Errorf("connection failure reported as a bare errno %v", err)
	}
	if _, err2 := c.Stat(1); err2 != err {
		t.Errorf("later call error = %v, want the recorded %v", err2, err)
	}
}

func TestNewClientRejectsStreamSocket(t *testing.T) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[1])
	if _, err := NewClient(fds[0]); err == nil {
		t.Error("NewClient accepted a SOCK_STREAM socket")
	}
}

func TestMainSubcommand(t *testing.T) {
	root := testTree(t)
	var stderr discard
	if code := run(nil, &stderr); code != 2 {
		t.Errorf("run() = %d, want 2", code)
	}
	if code := run([]string{"--root", root}, &stderr); code != 2 {
		t.Errorf("run(no --fd) = %d, want 2", code)
	}
	// Serve owns the descriptor it is given, also when it fails.
	serverEnd, clientEnd := socketPair(t)
	unix.Close(clientEnd)
	if code := run([]string{"--root", filepath.Join(root, "missing"), "--fd", fmt.Sprint(serverEnd)}, &stderr); code != 1 {
		t.Errorf("run(missing root) = %d, want 1", code)
	}

	serverEnd, clientEnd = socketPair(t)
	codec := make(chan int, 1)
	go func() { codec <- Main([]string{"--root", root, "--fd", fmt.Sprint(serverEnd)}) }()
	c, err := NewClient(clientEnd)
	if err != nil {
		t.Fatal(err)
	}
	fid, _ := mustWalk(t, c, mustRoot(t, c), "file.txt")
	if _, err := c.Stat(fid); err != nil {
		t.Errorf("Stat through Main: %v", err)
	}
	c.Shutdown()
	if code := <-codec; code != 0 {
		t.Errorf("Main = %d after the client hung up, want 0", code)
	}
}

type discard struct{}

func (*discard) Write(p []byte) (int, error) { return len(p), nil }

func BenchmarkWalkStat(b *testing.B) {
	root := testTree(b)
	c := newTestClient(b, root)
	rootFID := mustRoot(b, c)
	names := []string{"a", "b", "c.txt"}
	b.ReportAllocs()
	for b.Loop() {
		fids, _, err := c.Walk(rootFID, names)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.Stat(fids[2]); err != nil {
			b.Fatal(err)
		}
		if err := c.Close(fids...); err != nil {
			b.Fatal(err)
		}
	}
}

// TestListedDirectoryKeepsNoReadDescriptor: once a listing reaches its
// end, the gofer no longer holds a read descriptor for the directory,
// only the FID's O_PATH one, and a second listing still works.
func TestListedDirectoryKeepsNoReadDescriptor(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"a", "b", "c"} {
		mustMkdirAll(t, filepath.Join(root, d, "x"))
	}
	readFDs := func() int {
		n := 0
		ents, _ := os.ReadDir("/proc/self/fd")
		for _, e := range ents {
			target, err := os.Readlink("/proc/self/fd/" + e.Name())
			info, ierr := os.ReadFile("/proc/self/fdinfo/" + e.Name())
			if err != nil || ierr != nil || !strings.HasPrefix(target, root+"/") {
				continue
			}
			var flags uint64
			for _, line := range strings.Split(string(info), "\n") {
				if v, ok := strings.CutPrefix(line, "flags:"); ok {
					flags, _ = strconv.ParseUint(strings.TrimSpace(v), 8, 64)
				}
			}
			if flags&unix.O_PATH == 0 {
				n++
			}
		}
		return n
	}
	c := newTestClient(t, root)
	rootFID := mustRoot(t, c)
	for _, d := range []string{"a", "b", "c"} {
		fid, _ := mustWalk(t, c, rootFID, d)
		for range 2 {
			var names []string
			for off := uint64(0); ; {
				dirents, err := c.Getdents(fid, off, 4096)
				if err != nil {
					t.Fatalf("Getdents(%s, %d): %v", d, off, err)
				}
				if len(dirents) == 0 {
					break
				}
				for _, e := range dirents {
					names = append(names, e.Name)
				}
				off = dirents[len(dirents)-1].Off
			}
			slices.Sort(names)
			if !slices.Equal(names, []string{".", "..", "x"}) {
				t.Fatalf("listing of %s: %q", d, names)
			}
		}
	}
	if n := readFDs(); n != 0 {
		t.Fatalf("%d read descriptors of listed directories still open", n)
	}
}
