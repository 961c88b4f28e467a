package vfs_test

import (
	"sort"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/vfs"
)

var lastIno atomic.Uint64

// node is an in-memory inode: a directory, a regular file or a symlink.
type node struct {
	ino      uint64
	mode     uint32
	children map[string]*node
	target   string
	data     []byte
	// lookups counts Lookup calls, to see the dentry cache at work.
	lookups int
}

func dir(children map[string]*node) *node {
	if children == nil {
		children = map[string]*node{}
	}
	return &node{ino: lastIno.Add(1), mode: unix.S_IFDIR | 0o755, children: children}
}

func file(content string) *node {
	return &node{ino: lastIno.Add(1), mode: unix.S_IFREG | 0o644, data: []byte(content)}
}

func link(target string) *node {
	return &node{ino: lastIno.Add(1), mode: unix.S_IFLNK | 0o777, target: target}
}

func (n *node) Stat() (unix.Stat_t, error) {
	return unix.Stat_t{Ino: n.ino, Mode: n.mode, Nlink: 1, Size: int64(len(n.data))}, nil
}

func (n *node) Lookup(name string) (vfs.Inode, error) {
	n.lookups++
	if name == "" || name == "." || name == ".." || strings.Contains(name, "/") {
		panic("Lookup(" + name + "): the VFS must resolve this itself")
	}
	if n.mode&unix.S_IFMT != unix.S_IFDIR {
		return nil, unix.ENOTDIR
	}
	if len(name) > vfs.NameMax {
		return nil, unix.ENAMETOOLONG
	}
	c, ok := n.children[name]
	if !ok {
		return nil, unix.ENOENT
	}
	return c, nil
}

func (n *node) Readlink() (string, error) {
	if n.mode&unix.S_IFMT != unix.S_IFLNK {
		return "", unix.EINVAL
	}
	return n.target, nil
}

func (n *node) Open(flags int) (vfs.FileImpl, error) {
	switch n.mode & unix.S_IFMT {
	case unix.S_IFDIR:
		return &dirImpl{n: n}, nil
	case unix.S_IFREG:
		return &memImpl{data: n.data}, nil
	}
	return nil, unix.ELOOP
}

// memImpl is a regular file over a byte slice.
type memImpl struct {
	data   []byte
	closed int
	// offs records the offsets ReadAt and WriteAt were called with.
	offs []int64
	// nonblock records SetNonblocking calls when the impl is a
	// nonblockImpl.
	nonblock []bool
}

func (m *memImpl) ReadAt(dst []byte, off int64) (int, error) {
	m.offs = append(m.offs, off)
	if off < 0 {
		return 0, unix.EINVAL
	}
	if off >= int64(len(m.data)) {
		return 0, nil
	}
	return copy(dst, m.data[off:]), nil
}

func (m *memImpl) WriteAt(src []byte, off int64) (int, error) {
	m.offs = append(m.offs, off)
	if off < 0 {
		return 0, unix.EINVAL
	}
	if end := off + int64(len(src)); end > int64(len(m.data)) {
		m.data = append(m.data, make([]byte, end-int64(len(m.data)))...)
	}
	return copy(m.data[off:], src), nil
}

func (m *memImpl) Stat() (unix.Stat_t, error) {
	return unix.Stat_t{Mode: unix.S_IFREG | 0o644, Size: int64(len(m.data))}, nil
}

func (m *memImpl) Close() error { m.closed++; return nil }

// streamImpl is a memImpl without a position: reads consume from the
// front, writes append.
type streamImpl struct{ memImpl }

func (*streamImpl) IsStream() bool { return true }

func (s *streamImpl) ReadAt(dst []byte, off int64) (int, error) {
	s.offs = append(s.offs, off)
	n := copy(dst, s.data)
	s.data = s.data[n:]
	return n, nil
}

func (s *streamImpl) WriteAt(src []byte, off int64) (int, error) {
	s.offs = append(s.offs, off)
	s.data = append(s.data, src...)
	return len(src), nil
}

// nonblockImpl records what the File tells it about O_NONBLOCK.
type nonblockImpl struct{ memImpl }

func (n *nonblockImpl) SetNonblocking(nb bool) { n.nonblock = append(n.nonblock, nb) }

// dirImpl lists a node's children, sorted, with cookies 1, 2, ...
type dirImpl struct {
	n *node
	memImpl
}

func (d *dirImpl) Readdir(off uint64, _ int) ([]vfs.Dirent, error) {
	names := make([]string, 0, len(d.n.children))
	for name := range d.n.children {
		names = append(names, name)
	}
	sort.Strings(names)
	var out []vfs.Dirent
	for i := off; i < uint64(len(names)); i++ {
		out = append(out, vfs.Dirent{Ino: d.n.children[names[i]].ino, Off: i + 1, Name: names[i]})
	}
	return out, nil
}

// testTree builds:
//
//	/
//	├── a/
//	│   ├── b/
//	│   │   └── f        "in b"
//	│   ├── rel -> b/f
//	│   ├── abs -> /a/b
//	│   ├── up -> ../a
//	│   └── dotdot -> ..
//	├── file             "top"
//	├── loop -> loop
//	├── chain1 -> chain2
//	├── chain2 -> a/b
//	├── dangling -> nothere
//	├── empty -> ""
//	├── linkdir -> a
//	└── tofile -> file
func testTree() *node {
	return dir(map[string]*node{
		"a": dir(map[string]*node{
			"b":      dir(map[string]*node{"f": file("in b")}),
			"rel":    link("b/f"),
			"abs":    link("/a/b"),
			"up":     link("../a"),
			"dotdot": link(".."),
		}),
		"file":     file("top"),
		"loop":     link("loop"),
		"chain1":   link("chain2"),
		"chain2":   link("a/b"),
		"dangling": link("nothere"),
		"empty":    link(""),
		"linkdir":  link("a"),
		"tofile":   link("file"),
	})
}

// walk resolves path from the tree's root node, failing the test on error.
func walk(t *testing.T, root, start *vfs.Dentry, path string, opts vfs.ResolveOpts) *vfs.Dentry {
	t.Helper()
	d, err := vfs.Resolve(root, start, path, opts)
	if err != nil {
		t.Fatalf("Resolve(%q): %v", path, err)
	}
	return d
}

// inodeAt returns the node at a slash-separated path below n.
func inodeAt(n *node, path string) *node {
	for _, name := range strings.Split(path, "/") {
		if name != "" {
			n = n.children[name]
		}
	}
	return n
}
