package vfs

import "golang.org/x/sys/unix"

// NamespaceHolder is implemented by namespaces that an open namespace
// file keeps alive, as a Linux nsfs inode holds a reference on its
// namespace: setns(2) through a kept descriptor then finds the namespace
// whole (its hostname, IPC objects, network stack) after every process
// in it exited. Namespaces without it (mount, UTS, PID) live as long as
// anything points at them.
type NamespaceHolder interface {
	// HoldNamespace takes a reference for an open file. It reports
	// false when it took none: the namespace cannot end (an initial
	// one), or it ended before the file was opened.
	HoldNamespace() bool
	// ReleaseNamespace drops a reference HoldNamespace took.
	ReleaseNamespace()
}

// openNamespaceFile opens n, taking a reference on its namespace that the
// description's Close gives back.
func openNamespaceFile(n *NamespaceInode) *namespaceFile {
	f := &namespaceFile{n: n}
	if h, ok := n.Namespace.(NamespaceHolder); ok && h.HoldNamespace() {
		f.held = h
	}
	return f
}

// namespaceFile is an open namespace file: it can only be named (setns,
// fstat), not read or written.
type namespaceFile struct {
	n *NamespaceInode
	// held is the namespace the file holds a reference on, nil when
	// none; written only by openNamespaceFile (Close runs once, on the
	// description's last reference).
	held NamespaceHolder
}

func (f *namespaceFile) ReadAt([]byte, int64) (int, error)  { return 0, unix.EINVAL }
func (f *namespaceFile) WriteAt([]byte, int64) (int, error) { return 0, unix.EINVAL }
func (f *namespaceFile) Stat() (unix.Stat_t, error)         { return f.n.Stat() }

func (f *namespaceFile) Close() error {
	if f.held != nil {
		f.held.ReleaseNamespace()
	}
	return nil
}
