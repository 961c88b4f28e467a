package goferfs_test

import (
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/gofer"
	"github.com/cocoonrt/cocoon/sentry/fs/goferfs"
	"github.com/cocoonrt/cocoon/sentry/fs/synth"
	"github.com/cocoonrt/cocoon/sentry/vfs"
)

const helloContent = "hello from the host\n"

// testTree creates:
//
//	hello.txt          helloContent
//	big.bin            3 x 64 KiB + 123 bytes
//	a/b/deep.txt       "deep"
//	link -> hello.txt
//	dirlink -> a
//	empty/
//	many/              300 files with long names
//	fifo               a FIFO
func testTree(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(root, "hello.txt"), []byte(helloContent), 0o644))
	must(os.WriteFile(filepath.Join(root, "big.bin"), bigContent(), 0o600))
	must(os.MkdirAll(filepath.Join(root, "a", "b"), 0o755))
	must(os.WriteFile(filepath.Join(root, "a", "b", "deep.txt"), []byte("deep"), 0o644))
	must(os.Symlink("hello.txt", filepath.Join(root, "link")))
	must(os.Symlink("a", filepath.Join(root, "dirlink")))
	must(os.Mkdir(filepath.Join(root, "empty"), 0o700))
	must(os.Mkdir(filepath.Join(root, "many"), 0o755))
	for i := range 300 {
		name := filepath.Join(root, "many", strings.Repeat("x", 40)+string(rune('a'+i%26))+strings.Repeat("y", i%7)+"-"+itoa(i))
		must(os.WriteFile(name, nil, 0o644))
	}
	must(unix.Mkfifo(filepath.Join(root, "fifo"), 0o644))
	return root
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}

func bigContent() []byte {
	b := make([]byte, 3*65536+123)
	for i := range b {
		b[i] = byte(i*31 + i/4096)
	}
	return b
}

// serve starts a gofer on root and returns the file system's root inode
// and the client, shut down at cleanup.
func serve(t *testing.T, root string) (vfs.Inode, *gofer.Client) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("socketpair: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- gofer.Serve(fds[0], root) }()
	c, err := gofer.NewClient(fds[1])
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	t.Cleanup(func() {
		c.Shutdown()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("gofer: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("gofer did not stop after the client hung up")
		}
	})
	in, err := goferfs.New(c, goferfs.Options{Exclusive: true})
	if err != nil {
		t.Fatalf("goferfs.New: %v", err)
	}
	return in, c
}

func lookup(t *testing.T, dir vfs.Inode, path string) vfs.Inode {
	t.Helper()
	in := dir
	for _, name := range strings.Split(path, "/") {
		var err error
		if in, err = in.Lookup(name); err != nil {
			t.Fatalf("Lookup(%q) in %q: %v", name, path, err)
		}
	}
	return in
}

func lstat(t *testing.T, path string) unix.Stat_t {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		t.Fatal(err)
	}
	return st
}

// sameStat compares what the sandbox sees to the host's lstat, but for
// the access time, which reading changes.
func sameStat(t *testing.T, what string, got, want unix.Stat_t) {
	t.Helper()
	got.Atim, want.Atim = unix.Timespec{}, unix.Timespec{}
	if got != want {
		t.Errorf("%s: stat\n%+v\nwant\n%+v", what, got, want)
	}
}

func TestRootAndLookupStat(t *testing.T) {
	root := testTree(t)
	fs, _ := serve(t, root)
	st, err := fs.Stat()
	if err != nil {
		t.Fatal(err)
	}
	sameStat(t, "root", st, lstat(t, root))
	for _, p := range []string{"hello.txt", "big.bin", "a", "a/b", "a/b/deep.txt", "link", "dirlink", "empty", "fifo"} {
		in := lookup(t, fs, p)
		st, err := in.Stat()
		if err != nil {
			t.Errorf("Stat(%s): %v", p, err)
			continue
		}
		sameStat(t, p, st, lstat(t, filepath.Join(root, p)))
	}
}

func TestLookupErrors(t *testing.T) {
	root := testTree(t)
	fs, _ := serve(t, root)
	for _, tc := range []struct {
		dir, name string
		want      error
	}{
		{"", "missing", unix.ENOENT},
		{"a", "missing", unix.ENOENT},
		{"hello.txt", "x", unix.ENOTDIR},
		{"link", "x", unix.ENOTDIR}, // a symlink is not followed by Lookup
		{"", strings.Repeat("n", 255), unix.ENOENT},
	} {
		dir := fs
		if tc.dir != "" {
			dir = lookup(t, fs, tc.dir)
		}
		if in, err := dir.Lookup(tc.name); err != tc.want {
			t.Errorf("Lookup(%q) in %q = %v, %v; want %v", tc.name, tc.dir, in, err, tc.want)
		}
	}
}

func TestReadlink(t *testing.T) {
	root := testTree(t)
	fs, c := serve(t, root)
	link := lookup(t, fs, "link")
	dirlink := lookup(t, fs, "dirlink")
	if got, err := link.Readlink(); got != "hello.txt" || err != nil {
		t.Errorf("Readlink(link) = %q, %v", got, err)
	}
	for _, p := range []string{"hello.txt", "a", "fifo"} {
		if _, err := lookup(t, fs, p).Readlink(); err != unix.EINVAL {
			t.Errorf("Readlink(%s): %v, want EINVAL", p, err)
		}
	}
	// The target is cached: with the gofer gone, the link read before
	// still answers, one never read cannot.
	c.Shutdown()
	if got, err := link.Readlink(); got != "hello.txt" || err != nil {
		t.Errorf("cached Readlink = %q, %v", got, err)
	}
	if got, err := dirlink.Readlink(); err == nil {
		t.Errorf("uncached Readlink without a gofer = %q, want an error", got)
	}
}

func TestOpenReadOnly(t *testing.T) {
	root := testTree(t)
	fs, _ := serve(t, root)
	hello := lookup(t, fs, "hello.txt")
	// O_TRUNC is the VFS's business (through Truncater), so only write
	// access reaches the read-only gofer.
	for _, flags := range []int{unix.O_WRONLY, unix.O_RDWR, unix.O_WRONLY | unix.O_APPEND} {
		if impl, err := hello.Open(flags); err != unix.EROFS {
			t.Errorf("Open(%#o) = %v, %v; want EROFS", flags, impl, err)
		}
	}
	impl, err := hello.Open(unix.O_RDONLY)
	if err != nil {
		t.Fatal(err)
	}
	defer impl.Close()
	buf := make([]byte, 100)
	if n, err := impl.ReadAt(buf, 0); n != len(helloContent) || err != nil || string(buf[:n]) != helloContent {
		t.Errorf("ReadAt(0) = %d, %v, %q", n, err, buf[:n])
	}
	if n, err := impl.ReadAt(buf[:5], 6); n != 5 || err != nil || string(buf[:5]) != helloContent[6:11] {
		t.Errorf("ReadAt(6) = %d, %v, %q", n, err, buf[:n])
	}
	if n, err := impl.ReadAt(buf, int64(len(helloContent))); n != 0 || err != nil {
		t.Errorf("ReadAt at EOF = %d, %v", n, err)
	}
	if n, err := impl.ReadAt(buf, 1<<40); n != 0 || err != nil {
		t.Errorf("ReadAt far past EOF = %d, %v", n, err)
	}
	if _, err := impl.WriteAt([]byte("x"), 0); err != unix.EBADF {
		t.Errorf("WriteAt: %v, want EBADF", err)
	}
	ist, _ := hello.Stat()
	fst, err := impl.Stat()
	if err != nil || fst.Ino != ist.Ino || fst.Dev != ist.Dev || fst.Size != int64(len(helloContent)) || fst.Mode != ist.Mode {
		t.Errorf("open file Stat = %+v, %v; inode has %+v", fst, err, ist)
	}
	// Regular files can back memory mappings.
	m, ok := impl.(interface {
		Size() (int64, error)
		ReadAt([]byte, int64) (int, error)
	})
	if !ok {
		t.Fatalf("an open regular file cannot be mapped")
	}
	if size, err := m.Size(); size != int64(len(helloContent)) || err != nil {
		t.Errorf("Size = %d, %v", size, err)
	}
}

func TestReadAtLargeFile(t *testing.T) {
	root := testTree(t)
	fs, _ := serve(t, root)
	impl, err := lookup(t, fs, "big.bin").Open(unix.O_RDONLY)
	if err != nil {
		t.Fatal(err)
	}
	defer impl.Close()
	want := bigContent()
	got := make([]byte, len(want)+1000)
	n, err := impl.ReadAt(got, 0)
	if n != len(want) || err != nil || !bytes.Equal(got[:n], want) {
		t.Errorf("ReadAt of the whole file = %d, %v; contents equal: %v", n, err, bytes.Equal(got[:n], want))
	}
	n, err = impl.ReadAt(got[:70000], 65536-3)
	if n != 70000 || err != nil || !bytes.Equal(got[:n], want[65536-3:65536-3+70000]) {
		t.Errorf("ReadAt across 64 KiB = %d, %v", n, err)
	}
	// Through a file description, reads advance the offset.
	f := vfs.NewFile(impl, nil, unix.O_RDONLY)
	f.IncRef() // the deferred Close owns impl
	var all []byte
	buf := make([]byte, 10000)
	for {
		n, err := f.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		all = append(all, buf[:n]...)
	}
	if !bytes.Equal(all, want) {
		t.Errorf("sequential reads gave %d bytes, want the file's %d", len(all), len(want))
	}
}

// readAll lists dir through Readdir with at most maxBytes per call,
// following the cookies.
func readAll(t *testing.T, dir vfs.Inode, maxBytes int) ([]vfs.Dirent, int) {
	t.Helper()
	impl, err := dir.Open(unix.O_RDONLY | unix.O_DIRECTORY)
	if err != nil {
		t.Fatal(err)
	}
	defer impl.Close()
	dr, ok := impl.(vfs.DirReader)
	if !ok {
		t.Fatal("an open directory is not a DirReader")
	}
	var all []vfs.Dirent
	calls := 0
	for off := uint64(0); ; {
		ents, err := dr.Readdir(off, maxBytes)
		calls++
		if err != nil {
			t.Fatalf("Readdir(%d): %v", off, err)
		}
		if len(ents) == 0 {
			return all, calls
		}
		all = append(all, ents...)
		off = ents[len(ents)-1].Off
		if calls > 10000 {
			t.Fatal("Readdir does not end")
		}
	}
}

func TestReaddirMatchesHost(t *testing.T) {
	root := testTree(t)
	fs, _ := serve(t, root)
	for _, tc := range []struct {
		dir      string
		maxBytes int
	}{{"", 4096}, {"many", 600}, {"many", 1 << 20}, {"many", 1 << 30}, {"empty", 4096}, {"a/b", 100}} {
		dir := fs
		if tc.dir != "" {
			dir = lookup(t, fs, tc.dir)
		}
		ents, calls := readAll(t, dir, tc.maxBytes)
		host, err := os.ReadDir(filepath.Join(root, tc.dir))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		byName := map[string]vfs.Dirent{}
		for _, e := range ents {
			if _, dup := byName[e.Name]; dup {
				t.Errorf("%q: %q listed twice", tc.dir, e.Name)
			}
			byName[e.Name] = e
			if e.Name != "." && e.Name != ".." {
				got = append(got, e.Name)
			}
		}
		sort.Strings(got)
		var want []string
		for _, e := range host {
			want = append(want, e.Name())
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%q (maxBytes %d): listing\n%v\nwant\n%v", tc.dir, tc.maxBytes, got, want)
			continue
		}
		if _, ok := byName["."]; !ok {
			t.Errorf("%q: no . entry", tc.dir)
		}
		if _, ok := byName[".."]; !ok {
			t.Errorf("%q: no .. entry", tc.dir)
		}
		for _, name := range want {
			st := lstat(t, filepath.Join(root, tc.dir, name))
			e := byName[name]
			if e.Ino != st.Ino {
				t.Errorf("%q/%q: ino %d, want %d", tc.dir, name, e.Ino, st.Ino)
			}
			if e.Type != unix.DT_UNKNOWN && e.Type != synth.DirentType(st.Mode) {
				t.Errorf("%q/%q: type %d, want %d", tc.dir, name, e.Type, synth.DirentType(st.Mode))
			}
		}
		if tc.dir == "many" && tc.maxBytes == 600 && calls < 10 {
			t.Errorf("300 long names in 600-byte batches took only %d calls", calls)
		}
	}
}

func TestOpenDirectory(t *testing.T) {
	root := testTree(t)
	fs, _ := serve(t, root)
	impl, err := lookup(t, fs, "a").Open(unix.O_RDONLY)
	if err != nil {
		t.Fatal(err)
	}
	defer impl.Close()
	if _, err := impl.ReadAt(make([]byte, 1), 0); err != unix.EISDIR {
		t.Errorf("read of a directory: %v, want EISDIR", err)
	}
	if _, err := impl.WriteAt([]byte{1}, 0); err != unix.EBADF {
		t.Errorf("write of a directory: %v, want EBADF", err)
	}
	st, _ := impl.Stat()
	if st.Ino != lstat(t, filepath.Join(root, "a")).Ino {
		t.Errorf("open directory stat ino %d", st.Ino)
	}
}

// FIFOs, device nodes and symlinks of the served tree are never opened
// through the gofer.
func TestSpecialFilesRefused(t *testing.T) {
	root := testTree(t)
	special := []string{"fifo", "link"}
	if err := unix.Mknod(filepath.Join(root, "null"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))); err == nil {
		special = append(special, "null")
	} else {
		t.Logf("mknod: %v; not testing a device node", err)
	}
	if err := unix.Mknod(filepath.Join(root, "loop"), unix.S_IFBLK|0o666, int(unix.Mkdev(7, 0))); err == nil {
		special = append(special, "loop")
	}
	fs, _ := serve(t, root)
	for _, name := range special {
		in := lookup(t, fs, name)
		impl, err := in.Open(unix.O_RDONLY)
		if err == nil {
			impl.Close()
			t.Errorf("Open(%s) succeeded", name)
			continue
		}
		if err != unix.EACCES {
			t.Errorf("Open(%s): %v, want EACCES", name, err)
		}
		if name == "null" {
			st, _ := in.Stat()
			if st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != unix.Mkdev(1, 3) {
				t.Errorf("null: stat mode %#o rdev %#x; want the host's char 1:3 metadata", st.Mode, st.Rdev)
			}
		}
	}
}

// The VFS walks the gofer's tree with the sandbox's rules.
func TestResolveOverGofer(t *testing.T) {
	root := testTree(t)
	fs, _ := serve(t, root)
	r := vfs.NewRoot(fs)
	for _, tc := range []struct {
		path    string
		content string
		err     error
	}{
		{"/hello.txt", helloContent, nil},
		{"/link", helloContent, nil},
		{"/dirlink/b/deep.txt", "deep", nil},
		{"/a/b/../../link", helloContent, nil},
		{"/../../../hello.txt", helloContent, nil},
		{"/hello.txt/", "", unix.ENOTDIR},
		{"/a/missing", "", unix.ENOENT},
	} {
		d, err := vfs.Resolve(r, r, tc.path, vfs.ResolveOpts{FollowFinal: true})
		if err != tc.err {
			t.Errorf("Resolve(%q): %v, want %v", tc.path, err, tc.err)
			continue
		}
		if err != nil {
			continue
		}
		impl, err := d.Inode().Open(unix.O_RDONLY)
		if err != nil {
			t.Errorf("Open(%q): %v", tc.path, err)
			continue
		}
		buf := make([]byte, 100)
		n, _ := impl.ReadAt(buf, 0)
		impl.Close()
		if string(buf[:n]) != tc.content {
			t.Errorf("%q reads %q, want %q", tc.path, buf[:n], tc.content)
		}
	}
}
