package syscalls

import (
	"strings"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/arch"
	"github.com/cocoonrt/cocoon/sentry/kernel"
	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// Linux's limits on extended attributes.
const (
	xattrNameMax = 255
	xattrSizeMax = 65536
	xattrListMax = 65536
)

// xattrTarget resolves the file an xattr call names: a path (following
// the final symlink or not) or a descriptor.
func xattrTarget(t *kernel.Task, args arch.SyscallArgs, kind byte) (*vfs.Dentry, error) {
	if kind == 'f' {
		d, f, err := fileDentry(t, int32(args[0]))
		if err != nil {
			return nil, err
		}
		defer f.DecRef()
		if f.IsPath() {
			return nil, unix.EBADF
		}
		return d, nil
	}
	path, err := copyInPath(t, args[0])
	if err != nil {
		return nil, err
	}
	return resolveAt(t, atFDCWD, path, kind != 'l', false)
}

func copyInXattrName(t *kernel.Task, addr uint64) (string, error) {
	name, err := t.CopyInString(addr, xattrNameMax+1)
	if err != nil {
		if err == unix.ENAMETOOLONG {
			return "", unix.ERANGE
		}
		return "", err
	}
	if name == "" || len(name) > xattrNameMax {
		return "", unix.ERANGE
	}
	return name, nil
}

// xattrPermission implements Linux's xattr_permission for the
// namespaces the sandbox knows.
func xattrPermission(t *kernel.Task, d *vfs.Dentry, name string, want uint32) error {
	st, err := d.Inode().Stat()
	if err != nil {
		return err
	}
	creds := t.FSCreds()
	deny := unix.ENODATA
	if want&vfs.MayWrite != 0 {
		deny = unix.EPERM
	}
	switch {
	case strings.HasPrefix(name, "trusted."):
		if !creds.HasCap(vfs.CapSysAdmin) {
			return deny
		}
		return nil
	case strings.HasPrefix(name, "security."):
		return nil
	case strings.HasPrefix(name, "user."):
		mode := st.Mode & unix.S_IFMT
		if mode != unix.S_IFREG && mode != unix.S_IFDIR {
			return deny
		}
		if mode == unix.S_IFDIR && st.Mode&unix.S_ISVTX != 0 && want&vfs.MayWrite != 0 && !creds.IsOwner(st.Uid) {
			return unix.EPERM
		}
	case strings.HasPrefix(name, "system."):
		// POSIX ACLs are not supported.
		return unix.EOPNOTSUPP
	default:
		return unix.EOPNOTSUPP
	}
	return creds.MayAccess(&st, want)
}

func xattrsOf(d *vfs.Dentry) (vfs.Xattrs, error) {
	x, ok := d.Inode().(vfs.Xattrs)
	if !ok {
		return nil, unix.EOPNOTSUPP
	}
	return x, nil
}

func getxattr(t *kernel.Task, args arch.SyscallArgs, kind byte) (uint64, error) {
	d, err := xattrTarget(t, args, kind)
	if err != nil {
		return 0, err
	}
	name, err := copyInXattrName(t, args[1])
	if err != nil {
		return 0, err
	}
	valueAddr, size := args[2], args[3]
	if err := xattrPermission(t, d, name, vfs.MayRead); err != nil {
		return 0, err
	}
	x, err := xattrsOf(d)
	if err != nil {
		return 0, err
	}
	if size > xattrSizeMax {
		size = xattrSizeMax
	}
	v, err := x.GetXattr(name, int(size))
	if err != nil {
		return 0, err
	}
	if size == 0 {
		return uint64(len(v)), nil
	}
	if uint64(len(v)) > size {
		return 0, unix.ERANGE
	}
	if _, err := t.CopyOut(valueAddr, v); err != nil {
		return 0, unix.EFAULT
	}
	return uint64(len(v)), nil
}

// Getxattr implements Linux syscall getxattr(2).
func Getxattr(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	return getxattr(t, args, 'p')
}

// Lgetxattr implements Linux syscall lgetxattr(2).
func Lgetxattr(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	return getxattr(t, args, 'l')
}

// Fgetxattr implements Linux syscall fgetxattr(2).
func Fgetxattr(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	return getxattr(t, args, 'f')
}

func setxattr(t *kernel.Task, args arch.SyscallArgs, kind byte) (uint64, error) {
	d, err := xattrTarget(t, args, kind)
	if err != nil {
		return 0, err
	}
	flags := int(args[4])
	if flags&^(unix.XATTR_CREATE|unix.XATTR_REPLACE) != 0 {
		return 0, unix.EINVAL
	}
	name, err := copyInXattrName(t, args[1])
	if err != nil {
		return 0, err
	}
	size := args[3]
	if size > xattrSizeMax {
		return 0, unix.E2BIG
	}
	value := make([]byte, size)
	if size > 0 {
		if _, err := t.CopyIn(args[2], value); err != nil {
			return 0, unix.EFAULT
		}
	}
	if d.ReadOnly() {
		return 0, unix.EROFS
	}
	if err := xattrPermission(t, d, name, vfs.MayWrite); err != nil {
		return 0, err
	}
	x, err := xattrsOf(d)
	if err != nil {
		return 0, err
	}
	return 0, x.SetXattr(name, value, flags)
}

// Setxattr implements Linux syscall setxattr(2).
func Setxattr(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	return setxattr(t, args, 'p')
}

// Lsetxattr implements Linux syscall lsetxattr(2).
func Lsetxattr(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	return setxattr(t, args, 'l')
}

// Fsetxattr implements Linux syscall fsetxattr(2).
func Fsetxattr(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	return setxattr(t, args, 'f')
}

func listxattr(t *kernel.Task, args arch.SyscallArgs, kind byte) (uint64, error) {
	d, err := xattrTarget(t, args, kind)
	if err != nil {
		return 0, err
	}
	listAddr, size := args[1], args[2]
	x, ok := d.Inode().(vfs.Xattrs)
	if !ok {
		return 0, nil
	}
	if size > xattrListMax {
		size = xattrListMax
	}
	names, err := x.ListXattr(int(size))
	if err != nil {
		return 0, err
	}
	privileged := t.FSCreds().HasCap(vfs.CapSysAdmin)
	var buf []byte
	for _, n := range names {
		if strings.HasPrefix(n, "trusted.") && !privileged {
			continue
		}
		buf = append(buf, n...)
		buf = append(buf, 0)
	}
	if size == 0 {
		return uint64(len(buf)), nil
	}
	if uint64(len(buf)) > size {
		return 0, unix.ERANGE
	}
	if _, err := t.CopyOut(listAddr, buf); err != nil {
		return 0, unix.EFAULT
	}
	return uint64(len(buf)), nil
}

// Listxattr implements Linux syscall listxattr(2).
func Listxattr(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	return listxattr(t, args, 'p')
}

// Llistxattr implements Linux syscall llistxattr(2).
func Llistxattr(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	return listxattr(t, args, 'l')
}

// Flistxattr implements Linux syscall flistxattr(2).
func Flistxattr(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	return listxattr(t, args, 'f')
}

func removexattr(t *kernel.Task, args arch.SyscallArgs, kind byte) (uint64, error) {
	d, err := xattrTarget(t, args, kind)
	if err != nil {
		return 0, err
	}
	name, err := copyInXattrName(t, args[1])
	if err != nil {
		return 0, err
	}
	if d.ReadOnly() {
		return 0, unix.EROFS
	}
	if err := xattrPermission(t, d, name, vfs.MayWrite); err != nil {
		return 0, err
	}
	x, err := xattrsOf(d)
	if err != nil {
		return 0, err
	}
	return 0, x.RemoveXattr(name)
}

// Removexattr implements Linux syscall removexattr(2).
func Removexattr(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	return removexattr(t, args, 'p')
}

// Lremovexattr implements Linux syscall lremovexattr(2).
func Lremovexattr(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	return removexattr(t, args, 'l')
}

// Fremovexattr implements Linux syscall fremovexattr(2).
func Fremovexattr(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	return removexattr(t, args, 'f')
}
