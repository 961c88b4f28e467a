package mqueue

import (
	"testing"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/kernel"
	"github.com/cocoonrt/cocoon/sentry/vfs"
)

func newFS(t *testing.T) *FS {
	t.Helper()
	return Get((&kernel.Kernel{}).IPC().MQueues())
}

func TestOneFileSystemPerNamespace(t *testing.T) {
	ns := (&kernel.Kernel{}).IPC().MQueues()
	if Get(ns) != Get(ns) {
		t.Fatal("two file systems for one namespace")
	}
	if Get(ns) == newFS(t) {
		t.Fatal("namespaces share a file system")
	}
}

func TestCreateLookupUnlink(t *testing.T) {
	fs := newFS(t)
	root := vfs.NewRoot(fs.Root())
	d, impl, err := root.Create("q", unix.O_RDWR, 0o640, vfs.Owner{UID: 7, GID: 8}, nil)
	if err != nil {
		t.Fatal(err)
	}
	st, err := d.Inode().Stat()
	if err != nil || st.Mode != unix.S_IFREG|0o640 || st.Uid != 7 || st.Gid != 8 || st.Size != 80 || st.Nlink != 1 || st.Dev != dev {
		t.Errorf("Stat = %+v, %v", st, err)
	}
	f := vfs.NewFile(impl, d, unix.O_RDWR)
	defer f.DecRef()
	q := impl.(*File).Queue()
	if a := q.Attr(); a.MaxMsg != 10 || a.MsgSize != 8192 {
		t.Errorf("default attributes %+v", a)
	}
	// The same queue through the internal mount, as mq_open finds it.
	if got := fs.ns.Lookup("q"); got != q {
		t.Errorf("namespace Lookup = %v", got)
	}
	buf := make([]byte, 100)
	n, err := f.Read(buf)
	if err != nil || string(buf[:n]) != "QSIZE:0          NOTIFY:0     SIGNO:0     NOTIFY_PID:0     \n" {
		t.Errorf("Read = %q, %v", buf[:n], err)
	}
	if _, err := f.Write([]byte("x")); err != unix.EINVAL {
		t.Errorf("Write = %v, want EINVAL", err)
	}
	if rst, _ := fs.Root().Stat(); rst.Size != 60 || rst.Mode != unix.S_IFDIR|0o1777 {
		t.Errorf("root Stat = %+v", rst)
	}
	ents, err := (&dirFile{d: fs.root}).Readdir(0, 0)
	if err != nil || len(ents) != 3 || ents[2].Name != "q" || ents[2].Type != unix.DT_REG {
		t.Errorf("Readdir = %+v, %v", ents, err)
	}
	if more, _ := (&dirFile{d: fs.root}).Readdir(ents[2].Off, 0); len(more) != 0 {
		t.Errorf("Readdir after the last cookie = %+v", more)
	}
	for _, mk := range []func() error{
		func() error { _, err := root.Mkdir("d", 0o755, vfs.Owner{}, nil); return err },
		func() error { _, err := root.Symlink("s", "q", vfs.Owner{}, nil); return err },
		func() error { _, err := root.Mknod("p", unix.S_IFIFO|0o600, vfs.Owner{}, nil); return err },
	} {
		if err := mk(); err != unix.EPERM {
			t.Errorf("making a non-queue: %v, want EPERM", err)
		}
	}
	// Unlinked behind the VFS's back (mq_unlink), the cached name goes.
	if err := fs.InternalRoot().Unlink("q", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := vfs.Resolve(root, root, "q", vfs.ResolveOpts{}); err != unix.ENOENT {
		t.Errorf("Resolve after unlink = %v, want ENOENT", err)
	}
	if st, _ := f.Impl().Stat(); st.Nlink != 0 {
		t.Errorf("open unlinked queue nlink = %d", st.Nlink)
	}
}

func TestStatFS(t *testing.T) {
	st, err := newFS(t).root.StatFS()
	if err != nil || st.Type != Magic || st.Bsize != 4096 || st.Namelen != 255 {
		t.Errorf("StatFS = %+v, %v", st, err)
	}
	if st, err := BootRoot().(vfs.StatFSer).StatFS(); err != nil || st.Type != Magic {
		t.Errorf("unbound StatFS = %+v, %v", st, err)
	}
	if st, err := BootRoot().Stat(); err != nil || st.Mode != unix.S_IFDIR|0o1777 || st.Dev != dev {
		t.Errorf("unbound Stat = %+v, %v", st, err)
	}
}
