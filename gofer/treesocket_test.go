package gofer

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// requireMountAPI skips tests that add trees, which needs what AddTree
// needs: root and open_tree/mount_setattr.
func requireMountAPI(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("adding trees clones mounts, which needs root")
	}
	fd, err := unix.OpenTree(unix.AT_FDCWD, "/", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
	if err != nil {
		t.Skipf("open_tree: %v", err)
	}
	defer unix.Close(fd)
	attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_NODEV}
	if err := unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH, &attr); err != nil {
		t.Skipf("mount_setattr: %v", err)
	}
}

// startTreeGofer serves a gofer in this process (unconfined) with a tree
// socket and no tree, and returns a client for it and the socket's path.
func startTreeGofer(t *testing.T) (*Client, string) {
	t.Helper()
	sockPath := filepath.Join(t.TempDir(), "trees.sock")
	ln, err := ListenTreeSocket(sockPath)
	if err != nil {
		t.Fatalf("ListenTreeSocket: %v", err)
	}
	var st unix.Stat_t
	if err := unix.Lstat(sockPath, &st); err != nil || st.Mode&0o777 != 0o600 || st.Mode&unix.S_IFMT != unix.S_IFSOCK {
		t.Errorf("tree socket file mode %#o, %v; want a socket, 0600", st.Mode, err)
	}
	lnFD, err := unix.FcntlInt(ln.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
	serverEnd, clientEnd := socketPair(t)
	var log bytes.Buffer // written by the tree socket goroutine only, read after it ended
	errc := make(chan error, 1)
	go func() { errc <- serveTrees(serverEnd, lnFD, nil, &log) }()
	c, err := NewClient(clientEnd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Shutdown(); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		waitServer(t, errc)
		t.Logf("tree socket log:\n%s", log.String())
	})
	return c, sockPath
}

// addTree adds the directory dir as the tree name.
func addTree(t *testing.T, sockPath, name, dir string, readOnly bool) error {
	t.Helper()
	f, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return AddTree(ctx, sockPath, name, f, readOnly)
}

// readAll reads the file names leads to from root, closing the FIDs it
// walked.
func readAll(t *testing.T, c *Client, root FID, names ...string) string {
	t.Helper()
	fids, _, err := c.Walk(root, names)
	if err != nil || len(fids) != len(names) {
		t.Fatalf("Walk(%q) = %d FIDs, %v", names, len(fids), err)
	}
	defer c.Close(fids...)
	fid := fids[len(fids)-1]
	fd, err := c.Open(fid, unix.O_RDONLY)
	if err != nil {
		t.Fatalf("Open(%s): %v", strings.Join(names, "/"), err)
	}
	defer unix.Close(fd)
	buf := make([]byte, 4096)
	n, err := unix.Pread(fd, buf, 0)
	if err != nil {
		t.Fatalf("pread: %v", err)
	}
	return string(buf[:n])
}

func TestTreeSocketAddAttachRead(t *testing.T) {
	requireMountAPI(t)
	c, sock := startTreeGofer(t)

	// No tree yet.
	_, _, err := c.Root()
	checkErrno(t, "Root with no tree", err, unix.ENOENT)
	_, _, err = c.Attach("rootfs")
	checkErrno(t, "Attach before add", err, unix.ENOENT)

	rw := testTree(t)
	if err := addTree(t, sock, "rootfs", rw, false); err != nil {
		t.Fatalf("AddTree: %v", err)
	}
	root, st, err := c.Attach("rootfs")
	if err != nil {
		t.Fatalf("Attach: %v", err)
	}
	if host := lstat(t, rw); st.Ino != host.Ino || st.FileType() != unix.S_IFDIR {
		t.Errorf("Attach stat %+v, host ino %d", st, host.Ino)
	}
	if got := readAll(t, c, root, "a", "b", "c.txt"); got != testFileContent {
		t.Errorf("read %q, want %q", got, testFileContent)
	}
	// Root takes the first tree when none is named "".
	if fid, _, err := c.Root(); err != nil {
		t.Errorf("Root with one added tree: %v", err)
	} else {
		_ = c.Close(fid)
	}
	// Writes work and land in the host directory.
	if _, _, err := c.Mkdir(root, "newdir", 0o755, 0, 0); err != nil {
		t.Errorf("Mkdir on a read-write added tree: %v", err)
	} else if fi, err := os.Stat(filepath.Join(rw, "newdir")); err != nil || !fi.IsDir() {
		t.Errorf("newdir on the host: %v", err)
	}

	// The same name again is refused; the first tree is untouched.
	if err := addTree(t, sock, "rootfs", testTree(t), true); err == nil || !strings.Contains(err.Error(), "served already") {
		t.Errorf("adding rootfs twice: %v", err)
	}
	if got := readAll(t, c, root, "file.txt"); got != testFileContent {
		t.Errorf("after the duplicate add: read %q", got)
	}
}

func TestTreeSocketReadOnly(t *testing.T) {
	requireMountAPI(t)
	c, sock := startTreeGofer(t)
	ro := testTree(t)
	if err := addTree(t, sock, "vol-ro", ro, true); err != nil {
		t.Fatalf("AddTree: %v", err)
	}
	root, _, err := c.Attach("vol-ro")
	if err != nil {
		t.Fatalf("Attach: %v", err)
	}
	if got := readAll(t, c, root, "file.txt"); got != testFileContent {
		t.Errorf("read %q", got)
	}
	_, _, err = c.Mkdir(root, "x", 0o755, 0, 0)
	checkErrno(t, "Mkdir", err, unix.EROFS)
	fid, _ := mustWalk(t, c, root, "file.txt")
	_, err = c.Open(fid, unix.O_WRONLY)
	checkErrno(t, "Open(O_WRONLY)", err, unix.EROFS)
	_, _, _, err = c.Create(root, "new", unix.O_RDWR, 0o644, 0, 0)
	checkErrno(t, "Create", err, unix.EROFS)
	checkErrno(t, "Unlink", c.Unlink(root, "file.txt", 0), unix.EROFS)
	// StatFS shows the mount itself is read-only too, not just the server's
	// checks.
	if sfs, err := c.StatFS(root); err != nil || sfs.Flags&unix.ST_RDONLY == 0 || sfs.Flags&unix.ST_NODEV == 0 {
		t.Errorf("StatFS = flags %#x, %v; want ro,nodev", sfs.Flags, err)
	}
	if _, err := os.Stat(filepath.Join(ro, "x")); !os.IsNotExist(err) {
		t.Errorf("x appeared on the host: %v", err)
	}
}

func TestTreeSocketSymlinksStayInside(t *testing.T) {
	requireMountAPI(t)
	c, sock := startTreeGofer(t)
	served, secret := escapeTree(t)
	if err := addTree(t, sock, "esc", served, false); err != nil {
		t.Fatalf("AddTree: %v", err)
	}
	root, _, err := c.Attach("esc")
	if err != nil {
		t.Fatal(err)
	}
	secretIno := lstat(t, secret).Ino
	for _, path := range [][]string{{"to-secret"}, {"up", "outside", "secret.txt"}, {"up-secret"}, {"dir", "up", "outside"}} {
		name := strings.Join(path, "/")
		fids, stats, err := c.Walk(root, path)
		if err != nil {
			t.Errorf("Walk(%s): %v", name, err)
			continue
		}
		last := len(fids) - 1
		if stats[last].FileType() != unix.S_IFLNK || stats[last].Ino == secretIno {
			t.Errorf("Walk(%s) ended at mode %#o, want the symlink itself", name, stats[last].Mode)
		}
		if len(path) > 1 && len(fids) == len(path) {
			t.Errorf("Walk(%s) went past the symlink", name)
		}
		_, err = c.Open(fids[last], unix.O_RDONLY)
		checkErrno(t, "Open("+name+")", err, unix.ELOOP)
	}
	// Nor do writes through a link escape.
	_, _, _, err = c.Create(root, "to-secret", unix.O_RDWR, 0o644, 0, 0)
	checkErrno(t, "Create over a symlink", err, unix.EEXIST)
	if got, _ := os.ReadFile(secret); string(got) != "TOP SECRET\n" {
		t.Errorf("secret changed to %q", got)
	}
}

func TestTreeSocketRemove(t *testing.T) {
	requireMountAPI(t)
	c, sock := startTreeGofer(t)
	dir := testTree(t)
	fdsBefore := countOpenFDs(t)
	if err := addTree(t, sock, "ctr-1", dir, false); err != nil {
		t.Fatalf("AddTree: %v", err)
	}
	root, _, err := c.Attach("ctr-1")
	if err != nil {
		t.Fatal(err)
	}
	walked, _, err := c.Walk(root, []string{"a", "b", "c.txt"})
	if err != nil || len(walked) != 3 {
		t.Fatalf("Walk: %v", err)
	}
	file := walked[2]

	ctx := context.Background()
	if err := RemoveTree(ctx, sock, "ctr-1"); err != nil {
		t.Fatalf("RemoveTree: %v", err)
	}
	_, _, err = c.Attach("ctr-1")
	checkErrno(t, "Attach after remove", err, unix.ENOENT)
	_, _, err = c.Root()
	checkErrno(t, "Root after the only tree was removed", err, unix.ENOENT)
	if err := RemoveTree(ctx, sock, "ctr-1"); err == nil || !strings.Contains(err.Error(), "no such tree") {
		t.Errorf("removing it again: %v", err)
	}
	// FIDs taken before live on until released, walks from them included.
	if got := readAll(t, c, root, "file.txt"); got != testFileContent {
		t.Errorf("read through an old FID: %q", got)
	}
	if _, err := c.Stat(file); err != nil {
		t.Errorf("Stat of an old FID: %v", err)
	}
	// Releasing them closes the tree's descriptors, the mount's included.
	if err := c.Close(append(walked, root)...); err != nil {
		t.Fatal(err)
	}
	// The server shares this process; it closed the descriptors before
	// it replied to Close.
	if after := fdCountDownTo(t, fdsBefore); after > fdsBefore {
		t.Errorf("open descriptors: %d before the tree, %d after it is gone", fdsBefore, after)
	}

	// The name can be used again.
	if err := addTree(t, sock, "ctr-1", dir, true); err != nil {
		t.Fatalf("AddTree again: %v", err)
	}
	if root, _, err := c.Attach("ctr-1"); err != nil {
		t.Errorf("Attach after re-adding: %v", err)
	} else if _, _, err := c.Mkdir(root, "x", 0o755, 0, 0); err != unix.EROFS {
		t.Errorf("re-added read-only: Mkdir = %v, want EROFS", err)
	}
}

// rawTreeCall sends pkt with fds to the tree socket and returns the
// reply's error ("" for success), failing the test if there is no reply.
func rawTreeCall(t *testing.T, sock string, pkt []byte, fds ...int) string {
	t.Helper()
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	tv := unix.Timeval{Sec: 10}
	_ = unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	if err := unix.Connect(fd, &unix.SockaddrUnix{Name: sock}); err != nil {
		t.Fatalf("connect: %v", err)
	}
	var oob []byte
	if len(fds) > 0 {
		oob = unix.UnixRights(fds...)
	}
	if pkt != nil {
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, 1<<20)
		if err := unix.Sendmsg(fd, pkt, oob, nil, unix.MSG_NOSIGNAL); err != nil {
			t.Fatalf("send: %v", err)
		}
	}
	buf := make([]byte, 4096)
	var n int
	for {
		n, _, _, _, err = unix.Recvmsg(fd, buf, nil, 0)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil || n == 0 {
		t.Fatalf("no reply (%d bytes, %v)", n, err)
	}
	var rep treeReply
	if err := json.Unmarshal(buf[:n], &rep); err != nil {
		t.Fatalf("reply %q: %v", buf[:n], err)
	}
	return rep.Error
}

func TestTreeSocketMalformed(t *testing.T) {
	requireMountAPI(t)
	// Set before the gofer starts and restored after it stopped (clean-ups
	// run last first): its goroutines read it.
	old := treeRequestTimeout
	treeRequestTimeout = 300 * time.Millisecond
	t.Cleanup(func() { treeRequestTimeout = old })
	c, sock := startTreeGofer(t)

	dirs := testTree(t)
	dir, err := os.Open(dirs)
	if err != nil {
		t.Fatal(err)
	}
	defer dir.Close()
	file, err := os.Open(filepath.Join(dirs, "file.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	// A proper clone, for the cases where only the request is wrong.
	clone, err := cloneTreeMount(int(dir.Fd()), false)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(clone)
	fileClone, err := unix.OpenTree(int(file.Fd()), "", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_EMPTY_PATH)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fileClone)
	attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_NODEV | unix.MOUNT_ATTR_NOSUID}
	if err := unix.MountSetattr(fileClone, "", unix.AT_EMPTY_PATH, &attr); err != nil {
		t.Fatal(err)
	}
	var sfs unix.Statfs_t
	if err := unix.Fstatfs(int(dir.Fd()), &sfs); err != nil {
		t.Fatal(err)
	}
	tmpIsNodev := sfs.Flags&unix.ST_NODEV != 0 && sfs.Flags&unix.ST_NOSUID != 0

	sockA, sockB := socketPair(t)
	defer unix.Close(sockA)
	defer unix.Close(sockB)

	add := func(name string) []byte { return []byte(fmt.Sprintf(`{"op":"add","name":%q}`, name)) }
	before := countOpenFDs(t)
	for _, tc := range []struct {
		what string
		pkt  []byte
		fds  []int
		want string // a part of the error
	}{
		{"garbage", []byte("\x00\xffnot json"), nil, "bad request"},
		{"empty object", []byte(`{}`), nil, "tree name"},
		{"null", []byte(`null`), nil, "tree name"},
		{"array", []byte(`[1,2]`), nil, "bad request"},
		{"trailing data", []byte(`{"op":"remove","name":"x"} {}`), nil, "after the JSON"},
		{"unknown field", []byte(`{"op":"add","name":"x","path":"/etc"}`), []int{clone}, "unknown field"},
		{"unknown op", []byte(`{"op":"mount","name":"x"}`), []int{clone}, "unknown op"},
		{"huge", append(add("x"), bytes.Repeat([]byte(" "), 64<<10)...), []int{clone}, "longer than"},
		{"no descriptor", add("x"), nil, "exactly one descriptor"},
		{"two descriptors", add("x"), []int{clone, clone}, "exactly one descriptor"},
		{"too many descriptors", add("x"), []int{clone, clone, clone, clone, clone, clone, clone, clone, clone, clone}, "descriptors"},
		{"a file", add("x"), []int{fileClone}, "not a directory"},
		{"a socket", add("x"), []int{sockA}, "not a directory"},
		{"empty name", add(""), []int{clone}, "tree name"},
		{"long name", add(strings.Repeat("n", 129)), []int{clone}, "tree name"},
		{"slash in name", add("a/b"), []int{clone}, "not one of"},
		{"dot dot slash", add("../x"), []int{clone}, "not one of"},
		{"remove with descriptor", []byte(`{"op":"remove","name":"x"}`), []int{clone}, "no descriptor"},
		{"remove unknown", []byte(`{"op":"remove","name":"x"}`), nil, "no such tree"},
		{"nothing sent", nil, nil, "no request within"},
	} {
		got := rawTreeCall(t, sock, tc.pkt, tc.fds...)
		if got == "" || !strings.Contains(got, tc.want) {
			t.Errorf("%s: error %q, want one containing %q", tc.what, got, tc.want)
		}
	}
	if !tmpIsNodev {
		// The directory as opened, not a nodev clone.
		if got := rawTreeCall(t, sock, add("x"), int(dir.Fd())); !strings.Contains(got, "nodev") {
			t.Errorf("a plain descriptor on a mount without nodev: %q", got)
		}
	}
	// Nothing of it was kept.
	if after := fdCountDownTo(t, before+2); after > before+2 {
		t.Errorf("open descriptors grew from %d to %d", before, after)
	}
	_, _, err = c.Attach("x")
	checkErrno(t, "Attach(x)", err, unix.ENOENT)

	// Both sockets still serve.
	if got := rawTreeCall(t, sock, add("x"), clone); got != "" {
		t.Fatalf("a good raw add: %q", got)
	}
	root, _, err := c.Attach("x")
	if err != nil {
		t.Fatalf("Attach: %v", err)
	}
	if got := readAll(t, c, root, "file.txt"); got != testFileContent {
		t.Errorf("read %q", got)
	}
	// A name may hold any of [A-Za-z0-9_.-].
	if got := rawTreeCall(t, sock, add("Az09_.-"), clone); got != "" {
		t.Errorf("add Az09_.-: %q", got)
	}
}

func TestTreeSocketFlags(t *testing.T) {
	var stderr discard
	if code := run([]string{"--fd", "99"}, &stderr); code != 2 {
		t.Errorf("run(no tree, no tree socket) = %d, want 2", code)
	}
	// Not a listening socket: refused, both descriptors closed.
	serverEnd, clientEnd := socketPair(t)
	defer unix.Close(clientEnd)
	other, peer := socketPair(t)
	defer unix.Close(peer)
	if code := run([]string{"--fd", fmt.Sprint(serverEnd), "--tree-socket", fmt.Sprint(other)}, &stderr); code != 1 {
		t.Errorf("run(connected socket as --tree-socket) = %d, want 1", code)
	}
	for _, fd := range []int{serverEnd, other} {
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != unix.EBADF {
			t.Errorf("descriptor %d still open after a failed start", fd)
		}
	}
}

func TestListenTreeSocket(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "s")
	for range 2 { // the second replaces the first's stale file
		f, err := ListenTreeSocket(path)
		if err != nil {
			t.Fatalf("ListenTreeSocket: %v", err)
		}
		if v, err := unix.GetsockoptInt(int(f.Fd()), unix.SOL_SOCKET, unix.SO_ACCEPTCONN); err != nil || v != 1 {
			t.Errorf("not listening: %d, %v", v, err)
		}
		f.Close()
	}
	regular := filepath.Join(dir, "file")
	mustWriteFile(t, regular, "x")
	if _, err := ListenTreeSocket(regular); err == nil {
		t.Errorf("ListenTreeSocket replaced a regular file")
	}
	if _, err := os.Stat(regular); err != nil {
		t.Errorf("regular file gone: %v", err)
	}
	// Errors from a gofer that is not there.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := RemoveTree(ctx, filepath.Join(dir, "none"), "x"); err == nil {
		t.Errorf("RemoveTree without a gofer succeeded")
	}
	if err := RemoveTree(ctx, path, "bad/name"); err == nil {
		t.Errorf("RemoveTree accepted a bad name")
	}
}

// TestConfinedGoferTreeSocket starts a confined gofer with only a tree
// socket, as the daemon starts a pod's, and adds, uses and removes trees
// through it: every call the tree socket makes must pass the seccomp filter.
func TestConfinedGoferTreeSocket(t *testing.T) {
	requireRoot(t)
	requireMountAPI(t)
	sockPath := filepath.Join(t.TempDir(), "trees.sock")
	ln, err := ListenTreeSocket(sockPath)
	if err != nil {
		t.Fatal(err)
	}
	serverEnd, clientEnd := socketPair(t)
	cmd := exec.Command(os.Args[0], "--fd", "3", "--tree-socket", "4")
	cmd.Env = append(os.Environ(), confineHelperEnv+"=serve")
	cmd.ExtraFiles = []*os.File{os.NewFile(uintptr(serverEnd), "gofer-server"), ln}
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: goferNamespaces, Pdeathsig: syscall.SIGKILL}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	cmd.ExtraFiles[0].Close()
	ln.Close()
	exited := false
	defer func() {
		if !exited {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}()
	c, err := NewClient(clientEnd)
	if err != nil {
		t.Fatal(err)
	}
	// The first reply comes once the gofer is confined.
	_, _, err = c.Root()
	checkErrno(t, "Root with no tree", err, unix.ENOENT)

	rw, ro := testTree(t), testTree(t)
	if err := addTree(t, sockPath, "rootfs", rw, false); err != nil {
		t.Fatalf("AddTree(rootfs): %v; stderr:\n%s", err, stderr.String())
	}
	if err := addTree(t, sockPath, "vol", ro, true); err != nil {
		t.Fatalf("AddTree(vol): %v", err)
	}
	root, _, err := c.Attach("rootfs")
	if err != nil {
		t.Fatalf("Attach(rootfs): %v", err)
	}
	if got := readAll(t, c, root, "a", "b", "c.txt"); got != testFileContent {
		t.Errorf("read %q", got)
	}
	exerciseWrites(t, c, root, rw)
	vol, _, err := c.Attach("vol")
	if err != nil {
		t.Fatalf("Attach(vol): %v", err)
	}
	if ents, err := listDir(c, vol); err != nil || len(ents) < 4 {
		t.Errorf("listing vol: %d entries, %v", len(ents), err)
	}
	_, _, err = c.Mkdir(vol, "x", 0o755, 0, 0)
	checkErrno(t, "Mkdir on a read-only added tree", err, unix.EROFS)

	// A bad request, a stalled client and a remove, all under the filter.
	if got := rawTreeCall(t, sockPath, []byte("garbage")); !strings.Contains(got, "bad request") {
		t.Errorf("garbage: %q", got)
	}
	if got := rawTreeCall(t, sockPath, []byte(`{"op":"add","name":"y"}`), 0); !strings.Contains(got, "not a directory") {
		t.Errorf("stdin as a tree: %q", got)
	}
	ctx := context.Background()
	if err := RemoveTree(ctx, sockPath, "vol"); err != nil {
		t.Errorf("RemoveTree: %v", err)
	}
	_, _, err = c.Attach("vol")
	checkErrno(t, "Attach after remove", err, unix.ENOENT)
	if err := c.Close(vol); err != nil {
		t.Errorf("Close: %v", err)
	}
	if _, err := c.Stat(root); err != nil {
		t.Errorf("Stat after the other tree went: %v", err)
	}

	if err := c.Shutdown(); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	err = cmd.Wait()
	exited = true
	if err != nil {
		t.Errorf("gofer exited with %v; stderr:\n%s", err, stderr.String())
	}
	t.Logf("gofer stderr:\n%s", stderr.String())
}
