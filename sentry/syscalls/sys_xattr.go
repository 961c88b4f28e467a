package syscalls

import (
	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/arch"
	"github.com/cocoonrt/cocoon/sentry/kernel"
)

// Extended attributes are not served by the read-only gofer yet, so every
// file has none: reads find no attribute (ENODATA) and lists are empty,
// after the same path and descriptor checks Linux makes.

func xattrPath(t *kernel.Task, pathAddr uint64, follow bool) error {
	path, err := copyInPath(t, pathAddr)
	if err != nil {
		return err
	}
	_, err = resolveAt(t, atFDCWD, path, follow, false)
	return err
}

func xattrFD(t *kernel.Task, fd int32) error {
	f, err := getFile(t, fd)
	if err != nil {
		return err
	}
	f.DecRef()
	return nil
}

// Getxattr implements Linux syscall getxattr(2).
func Getxattr(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	if err := xattrPath(t, args[0], true); err != nil {
		return 0, err
	}
	return 0, unix.ENODATA
}

// Lgetxattr implements Linux syscall lgetxattr(2).
func Lgetxattr(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	if err := xattrPath(t, args[0], false); err != nil {
		return 0, err
	}
	return 0, unix.ENODATA
}

// Fgetxattr implements Linux syscall fgetxattr(2).
func Fgetxattr(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	if err := xattrFD(t, int32(args[0])); err != nil {
		return 0, err
	}
	return 0, unix.ENODATA
}

// Listxattr implements Linux syscall listxattr(2).
func Listxattr(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	return 0, xattrPath(t, args[0], true)
}

// Llistxattr implements Linux syscall llistxattr(2).
func Llistxattr(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	return 0, xattrPath(t, args[0], false)
}

// Flistxattr implements Linux syscall flistxattr(2).
func Flistxattr(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	return 0, xattrFD(t, int32(args[0]))
}
