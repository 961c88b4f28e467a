package tmpfs_test

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/fs/tmpfs"
	"github.com/cocoonrt/cocoon/sentry/memfile"
	"github.com/cocoonrt/cocoon/sentry/mm"
	"github.com/cocoonrt/cocoon/sentry/platform"
	"github.com/cocoonrt/cocoon/sentry/vfs"
)

const pageSize = 4096

var owner = vfs.Owner{UID: 1000, GID: 1000}

func newMemfile(t testing.TB, size uint64) *memfile.File {
	t.Helper()
	mf, err := memfile.New("tmpfs-test", size)
	if err != nil {
		t.Fatalf("memfile.New: %v", err)
	}
	t.Cleanup(func() { mf.Close() })
	return mf
}

func newFS(t testing.TB, opts tmpfs.Options) (*tmpfs.FS, *memfile.File) {
	t.Helper()
	mf := newMemfile(t, 1<<30)
	return tmpfs.New(mf, opts), mf
}

func root(fs *tmpfs.FS) vfs.DirOps { return fs.Root().(vfs.DirOps) }

func stat(t testing.TB, in vfs.Inode) unix.Stat_t {
	t.Helper()
	st, err := in.Stat()
	if err != nil {
		t.Fatalf("Stat: %v", err)
	}
	return st
}

func expectErr(t testing.TB, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: error %v, want %v", what, err, want)
	}
}

func create(t testing.TB, d vfs.Inode, name string) (vfs.Inode, vfs.FileImpl) {
	t.Helper()
	in, f, err := d.(vfs.DirOps).Create(name, unix.O_RDWR, unix.S_IFREG|0o644, owner)
	if err != nil {
		t.Fatalf("Create(%q): %v", name, err)
	}
	return in, f
}

func mkdir(t testing.TB, d vfs.Inode, name string) vfs.Inode {
	t.Helper()
	in, err := d.(vfs.DirOps).Mkdir(name, unix.S_IFDIR|0o755, owner)
	if err != nil {
		t.Fatalf("Mkdir(%q): %v", name, err)
	}
	return in
}

func lookup(t testing.TB, d vfs.Inode, name string) vfs.Inode {
	t.Helper()
	in, err := d.Lookup(name)
	if err != nil {
		t.Fatalf("Lookup(%q): %v", name, err)
	}
	return in
}

func write(t testing.TB, f vfs.FileImpl, b []byte, off int64) {
	t.Helper()
	if n, err := f.WriteAt(b, off); err != nil || n != len(b) {
		t.Fatalf("WriteAt(%d bytes at %d) = %d, %v", len(b), off, n, err)
	}
}

func read(t testing.TB, f vfs.FileImpl, n int, off int64) []byte {
	t.Helper()
	b := make([]byte, n)
	got, err := f.ReadAt(b, off)
	if err != nil {
		t.Fatalf("ReadAt(%d at %d): %v", n, off, err)
	}
	return b[:got]
}

func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i%251) + byte(i/pageSize)*17 + seed | 1
	}
	return b
}

func isZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// readdirAll reads a directory in chunks of maxBytes, resuming at each
// entry's Off. It reports errors with t.Errorf, so goroutines may call it.
func readdirAll(t testing.TB, d vfs.Inode, maxBytes int) []vfs.Dirent {
	t.Helper()
	f, err := d.Open(unix.O_RDONLY)
	if err != nil {
		t.Errorf("Open dir: %v", err)
		return nil
	}
	defer f.Close()
	var all []vfs.Dirent
	var off uint64
	for {
		ents, err := f.(vfs.DirReader).Readdir(off, maxBytes)
		if err != nil {
			t.Errorf("Readdir(%d): %v", off, err)
			return all
		}
		if len(ents) == 0 {
			return all
		}
		all = append(all, ents...)
		off = ents[len(ents)-1].Off
	}
}

func names(ents []vfs.Dirent) []string {
	var out []string
	for _, e := range ents {
		out = append(out, e.Name)
	}
	return out
}

func TestRoot(t *testing.T) {
	fs, _ := newFS(t, tmpfs.Options{UID: 5, GID: 6, Dev: 0x1234})
	st := stat(t, fs.Root())
	if st.Mode != unix.S_IFDIR|0o1777 || st.Uid != 5 || st.Gid != 6 || st.Dev != 0x1234 || st.Nlink != 2 || st.Ino == 0 {
		t.Errorf("root stat %+v", st)
	}
	if st.Blksize != 4096 || st.Size != 40 {
		t.Errorf("root blksize %d size %d", st.Blksize, st.Size)
	}
	fs2, _ := newFS(t, tmpfs.Options{Mode: 0o755})
	if st := stat(t, fs2.Root()); st.Mode != unix.S_IFDIR|0o755 {
		t.Errorf("root mode %#o", st.Mode)
	}
	ents := readdirAll(t, fs.Root(), 0)
	if len(ents) != 2 || ents[0].Name != "." || ents[1].Name != ".." || ents[0].Off != 1 || ents[1].Off != 2 ||
		ents[0].Ino != st.Ino || ents[1].Ino != st.Ino || ents[0].Type != unix.DT_DIR {
		t.Errorf("root entries %+v", ents)
	}
	if _, err := fs.Root().Open(unix.O_RDWR); err != unix.EISDIR {
		t.Errorf("open dir for writing: %v", err)
	}
	if _, err := fs.Root().Readlink(); err != unix.EINVAL {
		t.Errorf("readlink dir: %v", err)
	}
	if _, err := fs.Root().Lookup("missing"); err != unix.ENOENT {
		t.Errorf("lookup missing: %v", err)
	}
}

func TestStatFS(t *testing.T) {
	fs, _ := newFS(t, tmpfs.Options{SizeLimit: 100 * pageSize})
	_, f := create(t, fs.Root(), "f")
	write(t, f, make([]byte, 3*pageSize), 0)
	st, err := fs.Root().(vfs.StatFSer).StatFS()
	if err != nil {
		t.Fatal(err)
	}
	if st.Type != tmpfs.Magic || st.Bsize != 4096 || st.Blocks != 100 || st.Bfree != 97 || st.Bavail != 97 || st.Namelen != 255 {
		t.Errorf("statfs %+v", st)
	}
	unlimited, mf := newFS(t, tmpfs.Options{})
	st, _ = unlimited.Root().(vfs.StatFSer).StatFS()
	if st.Blocks != mf.Size()/4096 || st.Files == 0 || st.Ffree == 0 {
		t.Errorf("unlimited statfs %+v", st)
	}
}

func TestCreateReadWrite(t *testing.T) {
	fs, _ := newFS(t, tmpfs.Options{Dev: 9})
	dir := fs.Root()
	before := stat(t, dir)
	time.Sleep(2 * time.Millisecond)
	in, f := create(t, dir, "file")
	defer f.Close()
	if lookup(t, dir, "file") != in {
		t.Fatalf("lookup returned another inode")
	}
	st := stat(t, in)
	if st.Mode != unix.S_IFREG|0o644 || st.Uid != 1000 || st.Gid != 1000 || st.Nlink != 1 || st.Size != 0 || st.Blocks != 0 || st.Dev != 9 {
		t.Errorf("new file stat %+v", st)
	}
	if after := stat(t, dir); after.Mtim == before.Mtim || after.Ctim == before.Ctim || after.Size != 60 {
		t.Errorf("create did not update the directory: %+v", after)
	}
	if _, _, err := root(fs).Create("file", unix.O_RDWR, 0o644, owner); err != unix.EEXIST {
		t.Errorf("create existing: %v", err)
	}
	if _, _, err := root(fs).Create(string(make([]byte, 256)), unix.O_RDWR, 0o644, owner); err != unix.ENAMETOOLONG {
		t.Errorf("create long name: %v", err)
	}

	data := pattern(3*pageSize+123, 1)
	write(t, f, data, 1000)
	st = stat(t, in)
	if st.Size != int64(1000+len(data)) || st.Blocks != 4*pageSize/512 {
		t.Errorf("after write: size %d blocks %d", st.Size, st.Blocks)
	}
	got := read(t, f, len(data)+5000, 0)
	if len(got) != 1000+len(data) || !isZero(got[:1000]) || !bytes.Equal(got[1000:], data) {
		t.Errorf("read back wrong (%d bytes)", len(got))
	}
	if n, err := f.ReadAt(make([]byte, 10), st.Size); n != 0 || err != nil {
		t.Errorf("read at EOF = %d, %v", n, err)
	}
	if _, err := f.ReadAt(make([]byte, 10), -1); err != unix.EINVAL {
		t.Errorf("read at -1: %v", err)
	}
	if _, err := f.WriteAt(make([]byte, 10), -1); err != unix.EINVAL {
		t.Errorf("write at -1: %v", err)
	}
	if n, err := f.WriteAt([]byte("x"), 1<<63-1); n != 0 || err != unix.EFBIG {
		t.Errorf("write at MaxInt64 = %d, %v", n, err)
	}
	if fst, err := f.Stat(); err != nil || fst.Ino != st.Ino || fst.Size != st.Size {
		t.Errorf("file stat %+v, %v", fst, err)
	}
	// A sparse write far away allocates only its page.
	write(t, f, []byte("far"), 1<<40)
	if st := stat(t, in); st.Size != 1<<40+3 || st.Blocks != 5*pageSize/512 {
		t.Errorf("sparse: size %d blocks %d", st.Size, st.Blocks)
	}
	if got := read(t, f, 10, 1<<39); !isZero(got) || len(got) != 10 {
		t.Errorf("hole reads %x", got)
	}
	if err := f.(vfs.Syncer).Sync(false); err != nil {
		t.Errorf("sync: %v", err)
	}
	if _, err := in.Lookup("x"); err != unix.ENOTDIR {
		t.Errorf("lookup in file: %v", err)
	}
	if _, err := in.Readlink(); err != unix.EINVAL {
		t.Errorf("readlink file: %v", err)
	}
}

func TestTimestamps(t *testing.T) {
	fs, _ := newFS(t, tmpfs.Options{})
	in, f := create(t, fs.Root(), "f")
	defer f.Close()
	st0 := stat(t, in)
	time.Sleep(2 * time.Millisecond)
	write(t, f, []byte("hello"), 0)
	st1 := stat(t, in)
	if st1.Mtim == st0.Mtim || st1.Ctim == st0.Ctim {
		t.Errorf("write did not update mtime/ctime")
	}
	time.Sleep(2 * time.Millisecond)
	read(t, f, 5, 0)
	st2 := stat(t, in)
	if st2.Atim == st1.Atim || st2.Mtim != st1.Mtim {
		t.Errorf("read: atime %v -> %v, mtime %v -> %v", st1.Atim, st2.Atim, st1.Mtim, st2.Mtim)
	}
	// relatime: a second read with atime already newer than mtime and
	// ctime leaves it.
	time.Sleep(2 * time.Millisecond)
	read(t, f, 5, 0)
	if st3 := stat(t, in); st3.Atim != st2.Atim {
		t.Errorf("relatime: atime moved")
	}
	// chmod changes ctime only.
	time.Sleep(2 * time.Millisecond)
	if err := in.(vfs.SetStatter).SetStat(vfs.SetStatOpts{Mask: vfs.SetMode, Mode: 0o600}); err != nil {
		t.Fatal(err)
	}
	st4 := stat(t, in)
	if st4.Ctim == st2.Ctim || st4.Mtim != st2.Mtim || st4.Mode != unix.S_IFREG|0o600 {
		t.Errorf("chmod: %+v", st4)
	}
	// Truncate updates mtime and ctime.
	time.Sleep(2 * time.Millisecond)
	if err := f.(vfs.Truncater).Truncate(2); err != nil {
		t.Fatal(err)
	}
	if st5 := stat(t, in); st5.Mtim == st4.Mtim || st5.Ctim == st4.Ctim || st5.Size != 2 {
		t.Errorf("truncate: %+v", st5)
	}
}

func TestSetStat(t *testing.T) {
	fs, _ := newFS(t, tmpfs.Options{})
	in, f := create(t, fs.Root(), "f")
	defer f.Close()
	ss := in.(vfs.SetStatter)
	write(t, f, pattern(3*pageSize, 2), 0)
	opts := vfs.SetStatOpts{
		Mask: vfs.SetMode | vfs.SetUID | vfs.SetGID | vfs.SetAtime | vfs.SetMtime | vfs.SetSize,
		Mode: unix.S_ISUID | 0o751, UID: 7, GID: 8, Size: pageSize + 10,
		Atime: unix.Timespec{Sec: 100, Nsec: 5}, Mtime: unix.Timespec{Sec: 200, Nsec: 6},
	}
	if err := ss.SetStat(opts); err != nil {
		t.Fatal(err)
	}
	st := stat(t, in)
	if st.Mode != unix.S_IFREG|unix.S_ISUID|0o751 || st.Uid != 7 || st.Gid != 8 || st.Size != pageSize+10 ||
		st.Atim != opts.Atime || st.Mtim != opts.Mtime || st.Blocks != 2*pageSize/512 {
		t.Errorf("after SetStat: %+v", st)
	}
	if st.Ctim.Sec < time.Now().Unix()-5 {
		t.Errorf("ctime not updated: %v", st.Ctim)
	}
	// UTIME_NOW.
	if err := ss.SetStat(vfs.SetStatOpts{Mask: vfs.SetAtime | vfs.SetMtime,
		Atime: unix.Timespec{Nsec: unix.UTIME_NOW}, Mtime: unix.Timespec{Nsec: unix.UTIME_NOW}}); err != nil {
		t.Fatal(err)
	}
	st = stat(t, in)
	if st.Atim.Sec < time.Now().Unix()-5 || st.Mtim.Sec < time.Now().Unix()-5 || st.Atim.Nsec == unix.UTIME_NOW {
		t.Errorf("UTIME_NOW: %+v", st)
	}
	// Growing by SetSize reads zeroes past the old end, even in the old
	// last page.
	if err := ss.SetStat(vfs.SetStatOpts{Mask: vfs.SetSize, Size: 3 * pageSize}); err != nil {
		t.Fatal(err)
	}
	got := read(t, f, 3*pageSize, 0)
	if !bytes.Equal(got[:pageSize+10], pattern(3*pageSize, 2)[:pageSize+10]) || !isZero(got[pageSize+10:]) {
		t.Errorf("grow after shrink: wrong contents")
	}
	if err := ss.SetStat(vfs.SetStatOpts{Mask: vfs.SetSize, Size: -1}); err != unix.EINVAL {
		t.Errorf("negative size: %v", err)
	}
	if err := fs.Root().(vfs.SetStatter).SetStat(vfs.SetStatOpts{Mask: vfs.SetSize}); err != unix.EISDIR {
		t.Errorf("truncate dir: %v", err)
	}
	if err := fs.Root().(vfs.SetStatter).SetStat(vfs.SetStatOpts{Mask: vfs.SetMode, Mode: 0o700}); err != nil {
		t.Fatal(err)
	}
	if st := stat(t, fs.Root()); st.Mode != unix.S_IFDIR|0o700 {
		t.Errorf("chmod dir: %#o", st.Mode)
	}
}

func TestMkdirRmdir(t *testing.T) {
	fs, _ := newFS(t, tmpfs.Options{})
	r := fs.Root()
	a := mkdir(t, r, "a")
	b := mkdir(t, a, "b")
	if st := stat(t, r); st.Nlink != 3 {
		t.Errorf("root nlink %d, want 3", st.Nlink)
	}
	if st := stat(t, a); st.Nlink != 3 || st.Mode != unix.S_IFDIR|0o755 {
		t.Errorf("a: %+v", st)
	}
	if st := stat(t, b); st.Nlink != 2 {
		t.Errorf("b nlink %d", st.Nlink)
	}
	ents := readdirAll(t, b, 0)
	if len(ents) != 2 || ents[1].Name != ".." || ents[1].Ino != stat(t, a).Ino {
		t.Errorf("b entries %+v", ents)
	}
	if _, err := root(fs).Mkdir("a", 0o755, owner); err != unix.EEXIST {
		t.Errorf("mkdir existing: %v", err)
	}
	expectErr(t, "rmdir non-empty", root(fs).Rmdir("a"), unix.ENOTEMPTY)
	expectErr(t, "rmdir missing", root(fs).Rmdir("zz"), unix.ENOENT)
	create(t, r, "file")
	expectErr(t, "rmdir file", root(fs).Rmdir("file"), unix.ENOTDIR)
	expectErr(t, "unlink dir", root(fs).Unlink("a"), unix.EISDIR)

	bf, err := b.Open(unix.O_RDONLY)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.(vfs.DirOps).Rmdir("b"); err != nil {
		t.Fatal(err)
	}
	if st := stat(t, b); st.Nlink != 0 {
		t.Errorf("removed dir nlink %d", st.Nlink)
	}
	if st := stat(t, a); st.Nlink != 2 {
		t.Errorf("a nlink after rmdir %d", st.Nlink)
	}
	if _, err := bf.(vfs.DirReader).Readdir(0, 0); err != unix.ENOENT {
		t.Errorf("readdir of removed dir: %v", err)
	}
	if _, err := b.(vfs.DirOps).Mkdir("c", 0o755, owner); err != unix.ENOENT {
		t.Errorf("mkdir in removed dir: %v", err)
	}
	if _, _, err := b.(vfs.DirOps).Create("c", unix.O_RDWR, 0o644, owner); err != unix.ENOENT {
		t.Errorf("create in removed dir: %v", err)
	}
	bf.Close()
	if err := root(fs).Rmdir("a"); err != nil {
		t.Fatal(err)
	}
	if st := stat(t, r); st.Nlink != 2 {
		t.Errorf("root nlink %d", st.Nlink)
	}
}

func TestMknodSymlink(t *testing.T) {
	fs, _ := newFS(t, tmpfs.Options{})
	d := root(fs)
	fifo, err := d.Mknod("fifo", unix.S_IFIFO|0o640, owner)
	if err != nil {
		t.Fatal(err)
	}
	if st := stat(t, fifo); st.Mode != unix.S_IFIFO|0o640 || st.Nlink != 1 {
		t.Errorf("fifo %+v", st)
	}
	if _, err := fifo.Open(unix.O_RDONLY); err != unix.ENXIO {
		t.Errorf("open fifo: %v", err)
	}
	sock, err := d.Mknod("sock", unix.S_IFSOCK|0o600, owner)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sock.Open(unix.O_RDWR); err != unix.ENXIO {
		t.Errorf("open socket: %v", err)
	}
	reg, err := d.Mknod("reg", 0o600, owner)
	if err != nil {
		t.Fatal(err)
	}
	if st := stat(t, reg); st.Mode != unix.S_IFREG|0o600 {
		t.Errorf("mknod regular: %#o", st.Mode)
	}
	f, err := reg.Open(unix.O_RDWR)
	if err != nil {
		t.Fatal(err)
	}
	write(t, f, []byte("x"), 0)
	f.Close()
	if _, err := d.Mknod("chr", unix.S_IFCHR|0o600, owner); err != unix.EPERM {
		t.Errorf("mknod chr: %v", err)
	}
	if _, err := d.Mknod("fifo", unix.S_IFIFO|0o600, owner); err != unix.EEXIST {
		t.Errorf("mknod existing: %v", err)
	}

	sl, err := d.Symlink("link", "../some/target", owner)
	if err != nil {
		t.Fatal(err)
	}
	if st := stat(t, sl); st.Mode != unix.S_IFLNK|0o777 || st.Size != 14 || st.Uid != 1000 {
		t.Errorf("symlink %+v", st)
	}
	if target, err := sl.Readlink(); err != nil || target != "../some/target" {
		t.Errorf("readlink = %q, %v", target, err)
	}
	if _, err := sl.Open(unix.O_RDONLY); err != unix.ELOOP {
		t.Errorf("open symlink: %v", err)
	}
	if _, err := d.Symlink("empty", "", owner); err != unix.ENOENT {
		t.Errorf("empty symlink: %v", err)
	}
	if err := sl.(vfs.SetStatter).SetStat(vfs.SetStatOpts{Mask: vfs.SetSize}); err != unix.EINVAL {
		t.Errorf("truncate symlink: %v", err)
	}
	want := map[string]uint8{"fifo": unix.DT_FIFO, "sock": unix.DT_SOCK, "reg": unix.DT_REG, "link": unix.DT_LNK}
	for _, e := range readdirAll(t, fs.Root(), 0)[2:] {
		if want[e.Name] != e.Type {
			t.Errorf("%s: type %d, want %d", e.Name, e.Type, want[e.Name])
		}
		delete(want, e.Name)
	}
	if len(want) != 0 {
		t.Errorf("missing entries %v", want)
	}
	for _, name := range []string{"fifo", "sock", "link", "reg"} {
		if err := d.Unlink(name); err != nil {
			t.Errorf("unlink %s: %v", name, err)
		}
	}
	if fs.Usage() != tmpfs.InodeCharge {
		t.Errorf("usage after removing everything: %d", fs.Usage())
	}
}

func TestLink(t *testing.T) {
	fs, _ := newFS(t, tmpfs.Options{})
	r := fs.Root()
	d := root(fs)
	in, f := create(t, r, "a")
	write(t, f, []byte("data"), 0)
	f.Close()
	ct := stat(t, in).Ctim
	time.Sleep(2 * time.Millisecond)
	if err := d.Link("b", in); err != nil {
		t.Fatal(err)
	}
	st := stat(t, in)
	if st.Nlink != 2 || st.Ctim == ct {
		t.Errorf("after link: %+v", st)
	}
	if lookup(t, r, "b") != in {
		t.Errorf("link is another inode")
	}
	expectErr(t, "link existing", d.Link("a", in), unix.EEXIST)
	expectErr(t, "link dir", d.Link("c", mkdir(t, r, "dir")), unix.EPERM)
	other, _ := newFS(t, tmpfs.Options{})
	oin, of := create(t, other.Root(), "x")
	of.Close()
	expectErr(t, "link foreign", d.Link("c", oin), unix.EXDEV)
	if err := d.Unlink("a"); err != nil {
		t.Fatal(err)
	}
	if st := stat(t, in); st.Nlink != 1 {
		t.Errorf("nlink after unlink %d", st.Nlink)
	}
	f, err := lookup(t, r, "b").Open(unix.O_RDONLY)
	if err != nil {
		t.Fatal(err)
	}
	if got := read(t, f, 10, 0); string(got) != "data" {
		t.Errorf("data through the other name: %q", got)
	}
	f.Close()
	expectErr(t, "unlink missing", d.Unlink("a"), unix.ENOENT)
	if err := d.Unlink("b"); err != nil {
		t.Fatal(err)
	}
	// A file with no name and no open file cannot get a name back.
	expectErr(t, "link released", d.Link("c", in), unix.ENOENT)
}

// An unlinked file keeps its data while open or mapped.
func TestUnlinkOpen(t *testing.T) {
	fs, mf := newFS(t, tmpfs.Options{})
	d := root(fs)
	in, f := create(t, fs.Root(), "f")
	data := pattern(2*pageSize, 4)
	write(t, f, data, 0)
	f2, err := in.Open(unix.O_RDONLY)
	if err != nil {
		t.Fatal(err)
	}
	base := int64(tmpfs.InodeCharge) // the root
	if got := fs.Usage(); got != base+tmpfs.InodeCharge+2*pageSize {
		t.Errorf("usage %d", got)
	}
	if err := d.Unlink("f"); err != nil {
		t.Fatal(err)
	}
	if st := stat(t, in); st.Nlink != 0 {
		t.Errorf("nlink %d", st.Nlink)
	}
	f.Close()
	if got := read(t, f2, len(data), 0); !bytes.Equal(got, data) {
		t.Errorf("data lost while still open")
	}
	write(t, f2, []byte("more"), 0) // the FS does not check access modes
	if got := fs.Usage(); got != base+tmpfs.InodeCharge+2*pageSize {
		t.Errorf("usage while open %d", got)
	}
	obj := f2.(mm.SharedMappable).SharedMemory()
	obj.IncRef() // a mapping
	f2.Close()
	if got := fs.Usage(); got != base {
		t.Errorf("usage after close %d, want %d", got, base)
	}
	if _, err := in.Open(unix.O_RDONLY); err != unix.ENOENT {
		t.Errorf("reopen released file: %v", err)
	}
	// The mapping's reference keeps the pages.
	if obj.Resident() != 2*pageSize {
		t.Errorf("mapped object lost its pages: %d", obj.Resident())
	}
	obj.DecRef(mf)
	if obj.Resident() != 0 {
		t.Errorf("object kept pages after the last reference: %d", obj.Resident())
	}
}

func TestRename(t *testing.T) {
	fs, _ := newFS(t, tmpfs.Options{})
	r := fs.Root()
	d := root(fs)
	a := mkdir(t, r, "a")
	b := mkdir(t, r, "b")
	x, xf := create(t, a, "x")
	xf.Close()

	// Within a directory.
	if err := a.(vfs.DirOps).Rename("x", a, "y", 0); err != nil {
		t.Fatal(err)
	}
	if lookup(t, a, "y") != x {
		t.Errorf("renamed file lost")
	}
	if _, err := a.Lookup("x"); err != unix.ENOENT {
		t.Errorf("old name still there: %v", err)
	}
	// Same name, and two names of one file: nothing happens.
	if err := a.(vfs.DirOps).Rename("y", a, "y", 0); err != nil {
		t.Errorf("rename onto itself: %v", err)
	}
	if err := a.(vfs.DirOps).Link("y2", x); err != nil {
		t.Fatal(err)
	}
	if err := a.(vfs.DirOps).Rename("y", a, "y2", 0); err != nil {
		t.Errorf("rename onto a hard link: %v", err)
	}
	if _, err := a.Lookup("y"); err != nil || stat(t, x).Nlink != 2 {
		t.Errorf("rename onto a hard link changed something")
	}
	if err := a.(vfs.DirOps).Unlink("y2"); err != nil {
		t.Fatal(err)
	}
	// Replacing a file: the victim loses its name.
	v, vf := create(t, b, "v")
	if err := a.(vfs.DirOps).Rename("y", b, "v", 0); err != nil {
		t.Fatal(err)
	}
	if lookup(t, b, "v") != x || stat(t, v).Nlink != 0 {
		t.Errorf("replace: wrong result")
	}
	write(t, vf, []byte("still open"), 0)
	vf.Close()
	// NOREPLACE.
	create(t, b, "w")
	expectErr(t, "noreplace", b.(vfs.DirOps).Rename("v", b, "w", unix.RENAME_NOREPLACE), unix.EEXIST)
	if err := b.(vfs.DirOps).Rename("v", b, "new", unix.RENAME_NOREPLACE); err != nil {
		t.Errorf("noreplace to a free name: %v", err)
	}
	expectErr(t, "bad flags", b.(vfs.DirOps).Rename("new", b, "w", unix.RENAME_NOREPLACE|unix.RENAME_EXCHANGE), unix.EINVAL)
	expectErr(t, "missing source", b.(vfs.DirOps).Rename("nope", b, "w", 0), unix.ENOENT)
	expectErr(t, "file over dir", d.Rename("a", b, "w", 0), unix.ENOTDIR)
	mkdir(t, b, "emptydir")
	expectErr(t, "file over dir", b.(vfs.DirOps).Rename("w", b, "emptydir", 0), unix.EISDIR)

	// Moving a directory: ".." and the link counts follow.
	c := mkdir(t, a, "c")
	if err := a.(vfs.DirOps).Rename("c", b, "c", 0); err != nil {
		t.Fatal(err)
	}
	if stat(t, a).Nlink != 2 || stat(t, b).Nlink != 4 {
		t.Errorf("nlinks after moving a dir: a %d b %d", stat(t, a).Nlink, stat(t, b).Nlink)
	}
	if ents := readdirAll(t, c, 0); ents[1].Ino != stat(t, b).Ino {
		t.Errorf("'..' of moved dir is %d, want %d", ents[1].Ino, stat(t, b).Ino)
	}
	// Into its own subtree.
	expectErr(t, "dir into itself", d.Rename("b", c, "b", 0), unix.EINVAL)
	expectErr(t, "dir onto itself below", d.Rename("b", b, "x", 0), unix.EINVAL)
	// Over a non-empty directory, then over an empty one.
	create(t, c, "inside")
	expectErr(t, "replace non-empty dir", d.Rename("a", b, "c", 0), unix.ENOTEMPTY)
	cdir := mkdir(t, c, "cdir")
	expectErr(t, "replace own parent", c.(vfs.DirOps).Rename("cdir", b, "c", 0), unix.ENOTEMPTY)
	expectErr(t, "replace an ancestor", cdir.(vfs.DirOps).Rename("x", r, "b", 0), unix.ENOENT)
	create(t, cdir, "x")
	expectErr(t, "replace an ancestor", cdir.(vfs.DirOps).Rename("x", r, "b", 0), unix.EISDIR)
	mkdir(t, cdir, "xd")
	expectErr(t, "replace an ancestor", cdir.(vfs.DirOps).Rename("xd", r, "b", 0), unix.ENOTEMPTY)
	ed := lookup(t, b, "emptydir")
	if err := d.Rename("a", b, "emptydir", 0); err != nil {
		t.Fatal(err)
	}
	if stat(t, ed).Nlink != 0 || lookup(t, b, "emptydir") != a {
		t.Errorf("replacing an empty dir: wrong result")
	}
	if stat(t, r).Nlink != 3 || stat(t, b).Nlink != 4 {
		t.Errorf("nlinks: root %d b %d", stat(t, r).Nlink, stat(t, b).Nlink)
	}
	if _, err := ed.(vfs.DirOps).Mkdir("z", 0o755, owner); err != unix.ENOENT {
		t.Errorf("mkdir in replaced dir: %v", err)
	}
	// Foreign directories.
	other, _ := newFS(t, tmpfs.Options{})
	expectErr(t, "cross-fs", d.Rename("b", other.Root(), "b", 0), unix.EXDEV)
	file := lookup(t, b, "w")
	expectErr(t, "into a file", d.Rename("b", file, "b", 0), unix.ENOTDIR)
}

func TestRenameExchange(t *testing.T) {
	fs, _ := newFS(t, tmpfs.Options{})
	r := fs.Root()
	d := root(fs)
	a := mkdir(t, r, "a")
	sub := mkdir(t, a, "sub")
	f, ff := create(t, r, "f")
	ff.Close()
	expectErr(t, "exchange missing", d.Rename("f", r, "nope", unix.RENAME_EXCHANGE), unix.ENOENT)
	// Exchange a file in / with a directory in /a.
	if err := d.Rename("f", a, "sub", unix.RENAME_EXCHANGE); err != nil {
		t.Fatal(err)
	}
	if lookup(t, r, "f") != sub || lookup(t, a, "sub") != f {
		t.Errorf("exchange: wrong result")
	}
	if stat(t, r).Nlink != 4 || stat(t, a).Nlink != 2 {
		t.Errorf("nlinks: root %d a %d", stat(t, r).Nlink, stat(t, a).Nlink)
	}
	if ents := readdirAll(t, sub, 0); ents[1].Ino != stat(t, r).Ino {
		t.Errorf("'..' of exchanged dir not updated")
	}
	// Exchanging a directory with its own child.
	expectErr(t, "exchange with descendant", d.Rename("a", a, "sub", unix.RENAME_EXCHANGE), unix.EINVAL)
	// The entries keep their places in the directory.
	before := names(readdirAll(t, r, 0))
	if err := d.Rename("a", r, "f", unix.RENAME_EXCHANGE); err != nil {
		t.Fatal(err)
	}
	if after := names(readdirAll(t, r, 0)); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("exchange reordered entries: %v -> %v", before, after)
	}
	if lookup(t, r, "a") != sub || lookup(t, r, "f") != a {
		t.Errorf("same-dir exchange: wrong result")
	}
}

func TestReaddirChunks(t *testing.T) {
	fs, _ := newFS(t, tmpfs.Options{})
	r := fs.Root()
	want := []string{".", ".."}
	for i := range 100 {
		name := fmt.Sprintf("file-%03d", i)
		_, f := create(t, r, name)
		f.Close()
		want = append(want, name)
	}
	for _, maxBytes := range []int{0, 1, 40, 100, 1000} {
		got := names(readdirAll(t, r, maxBytes))
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("maxBytes %d: %d entries, want %d", maxBytes, len(got), len(want))
		}
	}
	// Offsets are stable: resuming after an entry that was removed
	// continues with the next one.
	ents := readdirAll(t, r, 0)
	off := ents[10].Off
	for _, n := range want[9:12] {
		if err := root(fs).Unlink(n); err != nil {
			t.Fatal(err)
		}
	}
	df, _ := r.Open(unix.O_RDONLY)
	next, err := df.(vfs.DirReader).Readdir(off, 1)
	if err != nil || len(next) != 1 || next[0].Name != want[12] {
		t.Errorf("resume after a removed entry: %+v, %v", next, err)
	}
	df.Close()
}

// Entries present during a whole directory scan are seen exactly once, and
// no name is seen twice, while other entries come and go.
func TestReaddirStableUnderMutation(t *testing.T) {
	fs, _ := newFS(t, tmpfs.Options{})
	r := fs.Root()
	d := root(fs)
	stable := map[string]bool{}
	for i := range 200 {
		name := fmt.Sprintf("stable-%03d", i)
		_, f := create(t, r, name)
		f.Close()
		stable[name] = true
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				name := fmt.Sprintf("churn-%d-%d", w, i%50)
				if i%2 == 0 {
					if _, f, err := d.Create(name, unix.O_RDWR, 0o644, owner); err == nil {
						f.Close()
					}
				} else {
					_ = d.Unlink(fmt.Sprintf("churn-%d-%d", w, (i-1)%50))
				}
				if i%7 == 0 {
					_ = d.Rename(fmt.Sprintf("churn-%d-%d", w, (i+2)%50), r, fmt.Sprintf("churn-%d-%d", w, (i+3)%50), 0)
				}
			}
		}()
	}
	for range 50 {
		seen := map[string]int{}
		for _, e := range readdirAll(t, r, 200) {
			seen[e.Name]++
			if seen[e.Name] > 1 && e.Name[0] == 's' {
				t.Fatalf("%s seen twice", e.Name)
			}
		}
		for name := range stable {
			if seen[name] != 1 {
				t.Fatalf("%s seen %d times", name, seen[name])
			}
		}
	}
	close(stop)
	wg.Wait()
}

func TestXattrs(t *testing.T) {
	fs, _ := newFS(t, tmpfs.Options{})
	in, f := create(t, fs.Root(), "f")
	f.Close()
	x := in.(vfs.Xattrs)
	if _, err := x.GetXattr("user.a", 0); err != unix.ENODATA {
		t.Errorf("get missing: %v", err)
	}
	ct := stat(t, in).Ctim
	time.Sleep(2 * time.Millisecond)
	if err := x.SetXattr("user.a", []byte("value"), unix.XATTR_CREATE); err != nil {
		t.Fatal(err)
	}
	if stat(t, in).Ctim == ct {
		t.Errorf("setxattr did not change ctime")
	}
	expectErr(t, "create existing", x.SetXattr("user.a", []byte("v2"), unix.XATTR_CREATE), unix.EEXIST)
	expectErr(t, "replace missing", x.SetXattr("user.b", []byte("v2"), unix.XATTR_REPLACE), unix.ENODATA)
	if err := x.SetXattr("user.a", []byte("longer value"), unix.XATTR_REPLACE); err != nil {
		t.Fatal(err)
	}
	if err := x.SetXattr("trusted.t", nil, 0); err != nil {
		t.Fatal(err)
	}
	if v, err := x.GetXattr("user.a", 0); err != nil || string(v) != "longer value" {
		t.Errorf("get size 0 = %q, %v", v, err)
	}
	if _, err := x.GetXattr("user.a", 3); err != unix.ERANGE {
		t.Errorf("get small: %v", err)
	}
	if v, err := x.GetXattr("user.a", 100); err != nil || string(v) != "longer value" {
		t.Errorf("get = %q, %v", v, err)
	}
	if v, err := x.GetXattr("trusted.t", 0); err != nil || len(v) != 0 {
		t.Errorf("get empty = %q, %v", v, err)
	}
	if l, err := x.ListXattr(0); err != nil || fmt.Sprint(l) != "[trusted.t user.a]" {
		t.Errorf("list = %v, %v", l, err)
	}
	if _, err := x.ListXattr(5); err != unix.ERANGE {
		t.Errorf("list small: %v", err)
	}
	if l, err := x.ListXattr(len("trusted.t") + len("user.a") + 2); err != nil || len(l) != 2 {
		t.Errorf("list exact = %v, %v", l, err)
	}
	expectErr(t, "bad namespace", x.SetXattr("system.posix_acl_access", nil, 0), unix.EOPNOTSUPP)
	expectErr(t, "big value", x.SetXattr("user.big", make([]byte, 65537), 0), unix.E2BIG)
	if err := x.RemoveXattr("user.a"); err != nil {
		t.Fatal(err)
	}
	expectErr(t, "remove missing", x.RemoveXattr("user.a"), unix.ENODATA)
	if l, _ := x.ListXattr(0); len(l) != 1 {
		t.Errorf("list after remove = %v", l)
	}
	// Directories have them too.
	if err := fs.Root().(vfs.Xattrs).SetXattr("user.d", []byte("1"), 0); err != nil {
		t.Errorf("dir setxattr: %v", err)
	}
}

func TestTruncateAndPunch(t *testing.T) {
	fs, _ := newFS(t, tmpfs.Options{})
	in, f := create(t, fs.Root(), "f")
	defer f.Close()
	data := pattern(4*pageSize, 6)
	write(t, f, data, 0)
	obj := f.(mm.SharedMappable).SharedMemory()
	tr := f.(vfs.Truncater)
	al := f.(vfs.Allocator)

	if err := tr.Truncate(pageSize + 100); err != nil {
		t.Fatal(err)
	}
	if st := stat(t, in); st.Size != pageSize+100 || st.Blocks != 2*pageSize/512 || obj.Resident() != 2*pageSize {
		t.Errorf("truncate: size %d blocks %d", st.Size, st.Blocks)
	}
	if err := tr.Truncate(3 * pageSize); err != nil {
		t.Fatal(err)
	}
	got := read(t, f, 4*pageSize, 0)
	if len(got) != 3*pageSize || !bytes.Equal(got[:pageSize+100], data[:pageSize+100]) || !isZero(got[pageSize+100:]) {
		t.Errorf("truncate down then up: wrong contents")
	}
	expectErr(t, "negative truncate", tr.Truncate(-1), unix.EINVAL)

	// Punch a hole: the size stays, the range reads zero, whole pages go.
	write(t, f, data, 0)
	if err := al.Allocate(unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, 100, 2*pageSize); err != nil {
		t.Fatal(err)
	}
	want := append([]byte(nil), data...)
	clear(want[100 : 100+2*pageSize])
	if got := read(t, f, 4*pageSize, 0); !bytes.Equal(got, want) {
		t.Errorf("punch: wrong contents")
	}
	if st := stat(t, in); st.Size != 4*pageSize || obj.Resident() != 3*pageSize {
		t.Errorf("punch: size %d resident %d", st.Size, obj.Resident())
	}
	// fallocate mode 0 extends; KEEP_SIZE allocates beyond the end
	// without extending.
	if err := al.Allocate(0, 4*pageSize, 2*pageSize); err != nil {
		t.Fatal(err)
	}
	if st := stat(t, in); st.Size != 6*pageSize || obj.Resident() != 5*pageSize {
		t.Errorf("fallocate: size %d resident %d", st.Size, obj.Resident())
	}
	if err := al.Allocate(unix.FALLOC_FL_KEEP_SIZE, 6*pageSize, 3*pageSize); err != nil {
		t.Fatal(err)
	}
	if st := stat(t, in); st.Size != 6*pageSize || st.Blocks != 8*pageSize/512 {
		t.Errorf("fallocate keep size: size %d blocks %d", st.Size, st.Blocks)
	}
	if got := read(t, f, 10*pageSize, 0); len(got) != 6*pageSize {
		t.Errorf("read past the size after KEEP_SIZE: %d bytes", len(got))
	}
	expectErr(t, "punch without keep size", al.Allocate(unix.FALLOC_FL_PUNCH_HOLE, 0, 1), unix.EOPNOTSUPP)
	expectErr(t, "collapse", al.Allocate(unix.FALLOC_FL_COLLAPSE_RANGE, 0, pageSize), unix.EOPNOTSUPP)
	expectErr(t, "zero length", al.Allocate(0, 0, 0), unix.EINVAL)
	expectErr(t, "negative offset", al.Allocate(0, -1, 10), unix.EINVAL)
	expectErr(t, "overflow", al.Allocate(0, 1<<62, 1<<62), unix.EFBIG)
}

func TestSizeLimit(t *testing.T) {
	fs, _ := newFS(t, tmpfs.Options{SizeLimit: 10 * pageSize})
	in, f := create(t, fs.Root(), "f")
	defer f.Close()
	write(t, f, pattern(8*pageSize, 1), 0)
	// Three more pages do not fit: the first two do.
	n, err := f.WriteAt(pattern(3*pageSize, 2), 8*pageSize)
	if n != 2*pageSize || err != unix.ENOSPC {
		t.Errorf("partial write = %d, %v; want 2 pages, ENOSPC", n, err)
	}
	if st := stat(t, in); st.Size != 10*pageSize {
		t.Errorf("size after partial write %d", st.Size)
	}
	if n, err := f.WriteAt([]byte("x"), 20*pageSize); n != 0 || err != unix.ENOSPC {
		t.Errorf("write past the limit = %d, %v", n, err)
	}
	// Overwriting existing pages needs no space.
	write(t, f, pattern(10*pageSize, 3), 0)
	// A partial write that starts mid-page.
	if err := f.(vfs.Truncater).Truncate(9*pageSize + 10); err != nil {
		t.Fatal(err)
	}
	n, err = f.WriteAt(pattern(3*pageSize, 4), 9*pageSize+10)
	if n != pageSize-10 || err != unix.ENOSPC {
		t.Errorf("mid-page partial write = %d, %v", n, err)
	}
	// Other files share the limit.
	_, g := create(t, fs.Root(), "g")
	defer g.Close()
	if n, err := g.WriteAt([]byte("y"), 0); n != 0 || err != unix.ENOSPC {
		t.Errorf("second file = %d, %v", n, err)
	}
	expectErr(t, "fallocate past the limit", g.(vfs.Allocator).Allocate(0, 0, pageSize), unix.ENOSPC)
	// Freeing space lets writes go on.
	if err := f.(vfs.Truncater).Truncate(5 * pageSize); err != nil {
		t.Fatal(err)
	}
	write(t, g, pattern(5*pageSize, 5), 0)
	if err := f.(vfs.Allocator).Allocate(unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, 0, 2*pageSize); err != nil {
		t.Fatal(err)
	}
	if err := g.(vfs.Allocator).Allocate(0, 5*pageSize, 2*pageSize); err != nil {
		t.Errorf("fallocate after punch: %v", err)
	}
	st, _ := fs.Root().(vfs.StatFSer).StatFS()
	if st.Blocks != 10 || st.Bfree != 0 {
		t.Errorf("statfs at the limit: %+v", st)
	}
	// Unlinking a closed file frees its space.
	if err := root(fs).Unlink("g"); err != nil {
		t.Fatal(err)
	}
	g.Close()
	write(t, f, pattern(2*pageSize, 6), 5*pageSize)
}

// Pages written through a shared mapping (here: the object itself, as a
// fault would) count against the limit from the file's next write.
func TestSizeLimitCountsMappedPages(t *testing.T) {
	fs, mf := newFS(t, tmpfs.Options{SizeLimit: 4 * pageSize})
	_, f := create(t, fs.Root(), "f")
	defer f.Close()
	if err := f.(vfs.Truncater).Truncate(8 * pageSize); err != nil {
		t.Fatal(err)
	}
	obj := f.(mm.SharedMappable).SharedMemory()
	if _, err := obj.WriteAt(mf, make([]byte, 3*pageSize), 0); err != nil {
		t.Fatal(err)
	}
	if n, err := f.WriteAt(make([]byte, 2*pageSize), 4*pageSize); n != pageSize || err != unix.ENOSPC {
		t.Errorf("write = %d, %v; want 1 page, ENOSPC", n, err)
	}
	if got := fs.Usage(); got != 4*pageSize+2*tmpfs.InodeCharge {
		t.Errorf("usage %d", got)
	}
}

// Data written through the file is visible in its SharedMemory, and data
// written to the SharedMemory (as a shared mapping does) is visible to
// reads.
func TestSharedMemoryView(t *testing.T) {
	fs, mf := newFS(t, tmpfs.Options{})
	in, f := create(t, fs.Root(), "f")
	defer f.Close()
	data := pattern(2*pageSize+77, 8)
	write(t, f, data, 300)
	sm := f.(mm.SharedMappable)
	obj := sm.SharedMemory()
	buf := make([]byte, len(data))
	if _, err := obj.ReadAt(mf, buf, 300); err != nil || !bytes.Equal(buf, data) {
		t.Errorf("object does not hold the written data")
	}
	if _, err := obj.WriteAt(mf, []byte("mapped"), 1000); err != nil {
		t.Fatal(err)
	}
	if got := read(t, f, 6, 1000); string(got) != "mapped" {
		t.Errorf("read sees %q", got)
	}
	if size, err := sm.Size(); err != nil || size != int64(300+len(data)) {
		t.Errorf("Size = %d, %v", size, err)
	}
	f2, _ := in.Open(unix.O_RDONLY)
	if f2.(mm.SharedMappable).SharedMemory() != obj {
		t.Errorf("two open files of one inode have different objects")
	}
	f2.Close()
}

// fakeAS is a platform address space that accepts everything.
type fakeAS struct{}

func (fakeAS) MapFile(uint64, memfile.Range, platform.AccessType) error { return nil }
func (fakeAS) Unmap(uint64, uint64)                                     {}
func (fakeAS) Release()                                                 {}

// Two processes mapping a tmpfs file MAP_SHARED share pages with each other
// and with read(2)/write(2).
func TestMMapShared(t *testing.T) {
	fs, mf := newFS(t, tmpfs.Options{})
	_, f := create(t, fs.Root(), "f")
	write(t, f, pattern(4*pageSize, 9), 0)
	const addr = 0x10_0000_0000
	m1 := mm.New(mf, fakeAS{}, 1<<40)
	m2 := mm.New(mf, fakeAS{}, 1<<40)
	opts := mm.MMapOpts{Addr: addr, Fixed: true, Length: 4 * pageSize,
		Perms: platform.Read | platform.Write, File: f.(mm.Mappable)}
	for _, m := range []*mm.MemoryManager{m1, m2} {
		if _, err := m.MMap(opts); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]byte, 8)
	if _, err := m2.CopyIn(addr+pageSize, buf); err != nil || !bytes.Equal(buf, pattern(4*pageSize, 9)[pageSize:pageSize+8]) {
		t.Errorf("mapping does not see the file: %x, %v", buf, err)
	}
	if _, err := m1.CopyOut(addr+2*pageSize+5, []byte("from m1")); err != nil {
		t.Fatal(err)
	}
	if _, err := m2.CopyIn(addr+2*pageSize+5, buf[:7]); err != nil || string(buf[:7]) != "from m1" {
		t.Errorf("m2 sees %q", buf[:7])
	}
	if got := read(t, f, 7, 2*pageSize+5); string(got) != "from m1" {
		t.Errorf("read sees %q", got)
	}
	write(t, f, []byte("from write"), 3*pageSize)
	if _, err := m1.CopyIn(addr+3*pageSize, buf); err != nil || string(buf) != "from wri" {
		t.Errorf("m1 sees %q", buf)
	}
	// A private mapping copies.
	m3 := mm.New(mf, fakeAS{}, 1<<40)
	popts := opts
	popts.Private = true
	if _, err := m3.MMap(popts); err != nil {
		t.Fatal(err)
	}
	if _, err := m3.CopyOut(addr, []byte("private")); err != nil {
		t.Fatal(err)
	}
	if got := read(t, f, 7, 0); string(got) == "private" {
		t.Errorf("a private mapping wrote the file")
	}
	// Past the end of the file: SIGBUS.
	if err := f.(vfs.Truncater).Truncate(pageSize); err != nil {
		t.Fatal(err)
	}
	if res := mm.New(mf, fakeAS{}, 1<<40); res != nil {
		if _, err := res.MMap(opts); err != nil {
			t.Fatal(err)
		}
		if fr := res.HandleFault(addr+2*pageSize, platform.Read, true); fr.Signo != int(unix.SIGBUS) {
			t.Errorf("fault past EOF: %+v", fr)
		}
		res.Release()
	}
	m1.Release()
	m2.Release()
	m3.Release()
	f.Close()
}

// Reads, writes, stats, lookups and directory changes from many goroutines
// (run with -race).
func TestConcurrency(t *testing.T) {
	fs, mf := newFS(t, tmpfs.Options{SizeLimit: 1 << 26})
	r := fs.Root()
	d := root(fs)
	shared, sf := create(t, r, "shared")
	defer sf.Close()
	obj := sf.(mm.SharedMappable).SharedMemory()
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprintf("w%d", w)
			dir, err := d.Mkdir(name, 0o755, owner)
			if err != nil {
				t.Error(err)
				return
			}
			buf := make([]byte, 3000)
			for i := range 200 {
				fname := fmt.Sprintf("f%d", i%10)
				in, f, err := dir.(vfs.DirOps).Create(fname, unix.O_RDWR, 0o644, owner)
				if err != nil {
					in, err = dir.Lookup(fname)
					if err != nil {
						t.Error(err)
						return
					}
					if f, err = in.Open(unix.O_RDWR); err != nil {
						t.Error(err)
						return
					}
				}
				if _, err := f.WriteAt(pattern(5000, byte(i)), int64(i*100)); err != nil {
					t.Error(err)
				}
				f.ReadAt(buf, int64(i*50))
				in.Stat()
				// The shared file: writes at disjoint offsets,
				// reads anywhere, truncates and punches.
				sf.WriteAt(pattern(100, byte(w)), int64(w*pageSize+i))
				sf.ReadAt(buf, int64(i*37))
				obj.ReadAt(mf, buf, int64(i*11))
				shared.Stat()
				switch i % 50 {
				case 10:
					sf.(vfs.Allocator).Allocate(unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, int64(w*pageSize), 50)
				case 20:
					f.(vfs.Truncater).Truncate(100)
				case 30:
					dir.(vfs.DirOps).Unlink(fname)
				case 40:
					dir.(vfs.DirOps).Rename(fname, r, name+"-"+fname, 0)
				}
				f.Close()
				if i%5 == 0 {
					readdirAll(t, dir, 100)
					readdirAll(t, r, 100)
					r.Stat()
					fs.Usage()
					r.(vfs.StatFSer).StatFS()
				}
			}
		}()
	}
	// Readers of the root.
	stop := make(chan struct{})
	var rw sync.WaitGroup
	rw.Add(1)
	go func() {
		defer rw.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			ents := readdirAll(t, r, 300)
			if len(ents) < 2 {
				return
			}
			for _, e := range ents[2:] {
				if in, err := r.Lookup(e.Name); err == nil {
					in.Stat()
				}
			}
		}
	}()
	wg.Wait()
	close(stop)
	rw.Wait()
}

// Usage counts data and inodes, and returns to the empty FS's after
// everything is removed.
func TestUsage(t *testing.T) {
	fs, _ := newFS(t, tmpfs.Options{})
	empty := fs.Usage()
	if empty != tmpfs.InodeCharge {
		t.Errorf("empty usage %d", empty)
	}
	dir := mkdir(t, fs.Root(), "d")
	_, f := create(t, dir, "f")
	write(t, f, make([]byte, 5*pageSize+1), 0)
	f.Close()
	if got := fs.Usage(); got != empty+2*tmpfs.InodeCharge+6*pageSize {
		t.Errorf("usage %d", got)
	}
	if err := dir.(vfs.DirOps).Unlink("f"); err != nil {
		t.Fatal(err)
	}
	if err := root(fs).Rmdir("d"); err != nil {
		t.Fatal(err)
	}
	if got := fs.Usage(); got != empty {
		t.Errorf("usage after removal %d, want %d", got, empty)
	}
}

// Faults and copies through shared mappings race with writes, truncation
// and hole punching of the file without deadlock or data race.
func TestMMapConcurrentWithFileOps(t *testing.T) {
	fs, mf := newFS(t, tmpfs.Options{})
	_, f := create(t, fs.Root(), "f")
	defer f.Close()
	const addr = 0x10_0000_0000
	const pages = 32
	write(t, f, make([]byte, pages*pageSize), 0)
	m1 := mm.New(mf, fakeAS{}, 1<<40)
	m2 := mm.New(mf, fakeAS{}, 1<<40)
	defer m1.Release()
	defer m2.Release()
	opts := mm.MMapOpts{Addr: addr, Fixed: true, Length: pages * pageSize,
		Perms: platform.Read | platform.Write, File: f.(mm.Mappable)}
	for _, m := range []*mm.MemoryManager{m1, m2} {
		if _, err := m.MMap(opts); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	run := func(fn func(i int)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 300 {
				fn(i)
			}
		}()
	}
	buf := func() []byte { return make([]byte, 3*pageSize) }
	b1, b2, b3 := buf(), buf(), buf()
	run(func(i int) {
		a := addr + uint64(i%pages)*pageSize
		m1.CopyOut(a, b1[:100])
		m1.CopyIn(a, b1)
		if i%10 == 0 {
			m1.Madvise(addr, pages*pageSize, mm.MadvDontneed)
		}
	})
	run(func(i int) {
		m2.Peek(addr+uint64(i%pages)*pageSize, b2)
		m2.HandleFault(addr+uint64((i*7)%pages)*pageSize, platform.Write, true)
	})
	run(func(i int) {
		f.WriteAt(b3[:1000], int64(i%pages)*pageSize)
		f.ReadAt(b3, int64(i*100))
		switch i % 20 {
		case 5:
			f.(vfs.Truncater).Truncate(int64(i%pages) * pageSize)
		case 10:
			f.(vfs.Truncater).Truncate(pages * pageSize)
		case 15:
			f.(vfs.Allocator).Allocate(unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, 0, pages*pageSize/2)
		}
		fs.Usage()
	})
	wg.Wait()
}

// TestDiskDirSizes: with DiskDirSizes a directory's size is an ext4
// directory's: one 4 KiB block until its entries' records (8 bytes and
// the name, to 4) fill it, whole blocks after, never shrinking; without,
// tmpfs's count of entries.
func TestDiskDirSizes(t *testing.T) {
	sizeOf := func(d vfs.Inode) int64 {
		t.Helper()
		st, err := d.Stat()
		if err != nil {
			t.Fatal(err)
		}
		if st.Size%4096 == 0 && st.Blocks != st.Size/512 {
			t.Errorf("size %d, blocks %d", st.Size, st.Blocks)
		}
		return st.Size
	}
	fs, _ := newFS(t, tmpfs.Options{DiskDirSizes: true})
	d, err := root(fs).Mkdir("d", unix.S_IFDIR|0o755, vfs.Owner{})
	if err != nil {
		t.Fatal(err)
	}
	if got := sizeOf(d); got != 4096 {
		t.Errorf("empty directory: size %d, want 4096", got)
	}
	// 400 names of 8 characters: 16-byte records, 6,400 bytes.
	for i := range 400 {
		if _, err := d.(vfs.DirOps).Mkdir(fmt.Sprintf("name%04d", i), unix.S_IFDIR|0o755, vfs.Owner{}); err != nil {
			t.Fatal(err)
		}
	}
	if got := sizeOf(d); got != 8192 {
		t.Errorf("400 entries: size %d, want 8192", got)
	}
	for i := range 400 {
		if err := d.(vfs.DirOps).Rmdir(fmt.Sprintf("name%04d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if got := sizeOf(d); got != 8192 {
		t.Errorf("emptied again: size %d, want 8192 (ext4 directories never shrink)", got)
	}
	plain, _ := newFS(t, tmpfs.Options{})
	if got := sizeOf(plain.Root()); got == 4096 {
		t.Errorf("without DiskDirSizes the root reports %d", got)
	}
}
