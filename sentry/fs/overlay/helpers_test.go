package overlay_test

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/fs/overlay"
	"github.com/cocoonrt/cocoon/sentry/fs/tmpfs"
	"github.com/cocoonrt/cocoon/sentry/memfile"
	"github.com/cocoonrt/cocoon/sentry/vfs"
)

const (
	lowerDev = 11
	upperDev = 22
)

var owner = vfs.Owner{UID: 1000, GID: 1000}

// builder populates a tree through the mutation interfaces.
type builder struct {
	t    testing.TB
	root vfs.Inode
}

func (b *builder) at(path string) vfs.Inode {
	b.t.Helper()
	in, err := walk(b.root, path)
	if err != nil {
		b.t.Fatalf("walk %q: %v", path, err)
	}
	return in
}

func (b *builder) parent(path string) (vfs.DirOps, string) {
	b.t.Helper()
	i := strings.LastIndexByte(path, '/')
	dir, name := "", path
	if i >= 0 {
		dir, name = path[:i], path[i+1:]
	}
	return b.at(dir).(vfs.DirOps), name
}

func (b *builder) dir(path string, mode uint32) *builder {
	b.t.Helper()
	d, name := b.parent(path)
	if _, err := d.Mkdir(name, unix.S_IFDIR|mode, owner); err != nil {
		b.t.Fatalf("Mkdir %q: %v", path, err)
	}
	return b
}

func (b *builder) file(path, content string, mode uint32) *builder {
	b.t.Helper()
	d, name := b.parent(path)
	_, f, err := d.Create(name, unix.O_RDWR, unix.S_IFREG|mode, owner)
	if err != nil {
		b.t.Fatalf("Create %q: %v", path, err)
	}
	if _, err := f.WriteAt([]byte(content), 0); err != nil {
		b.t.Fatalf("WriteAt %q: %v", path, err)
	}
	f.Close()
	return b
}

func (b *builder) symlink(path, target string) *builder {
	b.t.Helper()
	d, name := b.parent(path)
	if _, err := d.Symlink(name, target, owner); err != nil {
		b.t.Fatalf("Symlink %q: %v", path, err)
	}
	return b
}

func (b *builder) mknod(path string, mode uint32) *builder {
	b.t.Helper()
	d, name := b.parent(path)
	if _, err := d.Mknod(name, mode, owner); err != nil {
		b.t.Fatalf("Mknod %q: %v", path, err)
	}
	return b
}

func (b *builder) setStat(path string, opts vfs.SetStatOpts) *builder {
	b.t.Helper()
	if err := b.at(path).(vfs.SetStatter).SetStat(opts); err != nil {
		b.t.Fatalf("SetStat %q: %v", path, err)
	}
	return b
}

func (b *builder) xattr(path, name, value string) *builder {
	b.t.Helper()
	if err := b.at(path).(vfs.Xattrs).SetXattr(name, []byte(value), 0); err != nil {
		b.t.Fatalf("SetXattr %q: %v", path, err)
	}
	return b
}

// walk looks a slash-separated path up below root.
func walk(root vfs.Inode, path string) (vfs.Inode, error) {
	in := root
	for _, name := range strings.Split(path, "/") {
		if name == "" {
			continue
		}
		var err error
		if in, err = in.Lookup(name); err != nil {
			return nil, err
		}
	}
	return in, nil
}

// env is an overlay of two tmpfs trees, used through the VFS.
type env struct {
	t                testing.TB
	lowerFS, upperFS *tmpfs.FS
	lower, upper     vfs.Inode
	root             vfs.Inode
	vroot            *vfs.Dentry
}

func newMemfile(t testing.TB) *memfile.File {
	t.Helper()
	mf, err := memfile.New("overlay-test", 1<<30)
	if err != nil {
		t.Fatalf("memfile.New: %v", err)
	}
	t.Cleanup(func() { mf.Close() })
	return mf
}

// newEnv builds the lower tree with lower and the upper tree with upper
// (either may be nil), then merges them. The lower tree must not change:
// a cleanup compares it with its state at the start.
func newEnv(t testing.TB, lower, upper func(*builder), opts overlay.Options) *env {
	t.Helper()
	mf := newMemfile(t)
	e := &env{t: t}
	e.lowerFS = tmpfs.New(mf, tmpfs.Options{Dev: lowerDev, Mode: 0o755})
	e.upperFS = tmpfs.New(mf, tmpfs.Options{Dev: upperDev, Mode: 0o755})
	e.lower, e.upper = e.lowerFS.Root(), e.upperFS.Root()
	if lower != nil {
		lower(&builder{t: t, root: e.lower})
	}
	if upper != nil {
		upper(&builder{t: t, root: e.upper})
	}
	before := dump(t, e.lower)
	t.Cleanup(func() {
		if after := dump(t, e.lower); after != before {
			t.Errorf("lower tree changed:\nbefore:\n%s\nafter:\n%s", before, after)
		}
	})
	e.root = overlay.New(e.lower, e.upper, opts)
	e.vroot = vfs.NewRoot(e.root)
	return e
}

// fresh returns a new VFS root over the same overlay, with an empty dentry
// cache, so that checks see the overlay's answers rather than the VFS's.
func (e *env) fresh() *vfs.Dentry { return vfs.NewRoot(e.root) }

func (e *env) resolveIn(root *vfs.Dentry, path string) (*vfs.Dentry, error) {
	return vfs.Resolve(root, root, path, vfs.ResolveOpts{})
}

func (e *env) resolve(path string) *vfs.Dentry {
	e.t.Helper()
	d, err := e.resolveIn(e.vroot, path)
	if err != nil {
		e.t.Fatalf("Resolve %q: %v", path, err)
	}
	return d
}

func (e *env) parent(path string) (*vfs.Dentry, string) {
	e.t.Helper()
	d, name, err := vfs.ResolveParent(e.vroot, e.vroot, path, nil)
	if err != nil {
		e.t.Fatalf("ResolveParent %q: %v", path, err)
	}
	return d, name
}

func (e *env) create(path, content string) {
	e.t.Helper()
	if err := e.tryCreate(path, content); err != nil {
		e.t.Fatalf("create %q: %v", path, err)
	}
}

func (e *env) tryCreate(path, content string) error {
	d, name := e.parent(path)
	_, f, err := d.Create(name, unix.O_RDWR, 0o644, owner, nil)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.WriteAt([]byte(content), 0); err != nil {
		return err
	}
	return nil
}

func (e *env) mkdir(path string) error {
	d, name := e.parent(path)
	_, err := d.Mkdir(name, 0o755, owner, nil)
	return err
}

func (e *env) unlink(path string) error {
	d, name := e.parent(path)
	return d.Unlink(name, nil)
}

func (e *env) rmdir(path string) error {
	d, name := e.parent(path)
	return d.Rmdir(name, nil)
}

func (e *env) rename(from, to string, flags uint32) error {
	od, on := e.parent(from)
	nd, nn := e.parent(to)
	return vfs.Rename(od, on, nd, nn, flags, nil)
}

func (e *env) link(from, to string) error {
	old := e.resolve(from)
	d, name := e.parent(to)
	return d.Link(name, old, nil)
}

// open opens path as the open(2) path does, O_TRUNC included.
func (e *env) open(path string, flags int) (vfs.FileImpl, error) {
	d, err := e.resolveIn(e.vroot, path)
	if err != nil {
		return nil, err
	}
	st, err := d.Inode().Stat()
	if err != nil {
		return nil, err
	}
	f, err := d.Inode().Open(flags)
	if err != nil {
		return nil, err
	}
	acc := flags & unix.O_ACCMODE
	if flags&unix.O_TRUNC != 0 && (acc == unix.O_WRONLY || acc == unix.O_RDWR) && st.Size != 0 {
		if err := f.(vfs.Truncater).Truncate(0); err != nil {
			f.Close()
			return nil, err
		}
	}
	return f, nil
}

// read returns the content of path, read through a fresh lookup.
func (e *env) read(path string) string {
	e.t.Helper()
	d, err := e.resolveIn(e.fresh(), path)
	if err != nil {
		e.t.Fatalf("resolve %q: %v", path, err)
	}
	f, err := d.Inode().Open(unix.O_RDONLY)
	if err != nil {
		e.t.Fatalf("open %q: %v", path, err)
	}
	defer f.Close()
	return readAll(e.t, f)
}

func readAll(t testing.TB, f vfs.FileImpl) string {
	t.Helper()
	var b []byte
	buf := make([]byte, 4096)
	for off := int64(0); ; {
		n, err := f.ReadAt(buf, off)
		b = append(b, buf[:n]...)
		off += int64(n)
		if err == io.EOF || (err == nil && n == 0) {
			return string(b)
		}
		if err != nil {
			t.Fatalf("ReadAt: %v", err)
		}
	}
}

func (e *env) stat(path string) unix.Stat_t {
	e.t.Helper()
	d, err := e.resolveIn(e.fresh(), path)
	if err != nil {
		e.t.Fatalf("resolve %q: %v", path, err)
	}
	st, err := d.Inode().Stat()
	if err != nil {
		e.t.Fatalf("stat %q: %v", path, err)
	}
	return st
}

// lookupErr returns the error of looking path up with both the cached and a
// fresh dentry tree, failing if they disagree.
func (e *env) lookupErr(path string) error {
	e.t.Helper()
	_, err1 := e.resolveIn(e.vroot, path)
	_, err2 := e.resolveIn(e.fresh(), path)
	if !errors.Is(err1, err2) && err1 != err2 {
		e.t.Errorf("lookup %q: cached %v, fresh %v", path, err1, err2)
	}
	return err2
}

// ls lists a merged directory (names only, without "." and ".."), read in
// chunks of maxBytes.
func (e *env) ls(path string) []string {
	e.t.Helper()
	var names []string
	for _, d := range e.readdir(path, 0) {
		if d.Name != "." && d.Name != ".." {
			names = append(names, d.Name)
		}
	}
	sort.Strings(names)
	return names
}

func (e *env) readdir(path string, maxBytes int) []vfs.Dirent {
	e.t.Helper()
	d, err := e.resolveIn(e.fresh(), path)
	if err != nil {
		e.t.Fatalf("resolve %q: %v", path, err)
	}
	f, err := d.Inode().Open(unix.O_RDONLY | unix.O_DIRECTORY)
	if err != nil {
		e.t.Fatalf("open %q: %v", path, err)
	}
	defer f.Close()
	return readdirAll(e.t, f, maxBytes)
}

func readdirAll(t testing.TB, f vfs.FileImpl, maxBytes int) []vfs.Dirent {
	t.Helper()
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

// upperHas reports whether the upper tree holds path.
func (e *env) upperHas(path string) bool {
	_, err := walk(e.upper, path)
	return err == nil
}

// dump describes a tree: each file's path, type, mode, owner, mtime,
// content or target and xattrs.
func dump(t testing.TB, root vfs.Inode) string {
	t.Helper()
	var b strings.Builder
	var rec func(in vfs.Inode, path string)
	rec = func(in vfs.Inode, path string) {
		st, err := in.Stat()
		if err != nil {
			t.Fatalf("dump: Stat %q: %v", path, err)
		}
		fmt.Fprintf(&b, "%s %o %d:%d mtime=%d.%09d size=%d", path, st.Mode, st.Uid, st.Gid, st.Mtim.Sec, st.Mtim.Nsec, st.Size)
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFREG:
			f, err := in.Open(unix.O_RDONLY)
			if err != nil {
				t.Fatalf("dump: Open %q: %v", path, err)
			}
			fmt.Fprintf(&b, " %q", readAll(t, f))
			f.Close()
		case unix.S_IFLNK:
			target, _ := in.Readlink()
			fmt.Fprintf(&b, " -> %q", target)
		}
		if x, ok := in.(vfs.Xattrs); ok {
			names, _ := x.ListXattr(0)
			for _, n := range names {
				v, _ := x.GetXattr(n, 0)
				fmt.Fprintf(&b, " %s=%q", n, v)
			}
		}
		b.WriteByte('\n')
		if st.Mode&unix.S_IFMT != unix.S_IFDIR {
			return
		}
		f, err := in.Open(unix.O_RDONLY)
		if err != nil {
			t.Fatalf("dump: Open dir %q: %v", path, err)
		}
		ents := readdirAll(t, f, 0)
		f.Close()
		var names []string
		for _, e := range ents {
			if e.Name != "." && e.Name != ".." {
				names = append(names, e.Name)
			}
		}
		sort.Strings(names)
		for _, n := range names {
			c, err := in.Lookup(n)
			if err != nil {
				t.Fatalf("dump: Lookup %q: %v", path+"/"+n, err)
			}
			rec(c, path+"/"+n)
		}
	}
	rec(root, "")
	return b.String()
}

func expectErr(t testing.TB, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) && err != want {
		t.Errorf("%s: error %v, want %v", what, err, want)
	}
}

func expectNames(t testing.TB, what string, got []string, want ...string) {
	t.Helper()
	sort.Strings(want)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("%s: got %q, want %q", what, got, want)
	}
}

// ts is a fixed time for attribute tests.
func ts(sec int64) unix.Timespec { return unix.Timespec{Sec: sec, Nsec: 123} }
