package vfs_test

import (
	"testing"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// TestWriteAccessAndExecutionExclude checks Linux's i_writecount rules
// across two names (a bind mount) of one file: a running program cannot
// be opened for writing, a file open for writing cannot run, and each
// works again once the other is released.
func TestWriteAccessAndExecutionExclude(t *testing.T) {
	prog := file("program")
	root := vfs.NewRoot(dir(map[string]*node{"prog": prog, "other": file("x")}))
	d := mustResolve(t, root, root, "prog")
	bound := vfs.NewRoot(prog) // the same file seen through another mount

	impl, _ := prog.Open(unix.O_RDONLY)
	exe := vfs.NewFile(impl, d, unix.O_RDONLY)
	if err := exe.DenyWriteAccess(); err != nil {
		t.Fatalf("DenyWriteAccess of a file nobody writes: %v", err)
	}
	for _, name := range []*vfs.Dentry{d, bound} {
		if err := vfs.CheckWriteAccess(name); err != unix.ETXTBSY {
			t.Errorf("CheckWriteAccess of a running program: %v, want ETXTBSY", err)
		}
	}
	if err := vfs.CheckWriteAccess(mustResolve(t, root, root, "other")); err != nil {
		t.Errorf("CheckWriteAccess of another file: %v", err)
	}
	exe.DecRef()
	if err := vfs.CheckWriteAccess(bound); err != nil {
		t.Errorf("CheckWriteAccess after the program's file was released: %v", err)
	}

	impl, _ = prog.Open(unix.O_WRONLY)
	w := vfs.NewFile(impl, bound, unix.O_WRONLY)
	impl, _ = prog.Open(unix.O_RDONLY)
	exe = vfs.NewFile(impl, d, unix.O_RDONLY)
	if err := exe.DenyWriteAccess(); err != unix.ETXTBSY {
		t.Errorf("DenyWriteAccess of a file open for writing: %v, want ETXTBSY", err)
	}
	w.DecRef()
	if err := exe.DenyWriteAccess(); err != nil {
		t.Errorf("DenyWriteAccess after the writer closed: %v", err)
	}
	exe.DecRef()
	if err := vfs.CheckWriteAccess(d); err != nil {
		t.Errorf("CheckWriteAccess after everything was released: %v", err)
	}
}
