package syscalls

import (
	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/arch"
	"github.com/cocoonrt/cocoon/sentry/kernel"
	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// setnsFlags are the CLONE_NEW* flags setns(2) takes with a pidfd
// (check_setns_flags).
const setnsFlags = unix.CLONE_NEWNS | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC | unix.CLONE_NEWNET |
	unix.CLONE_NEWPID | unix.CLONE_NEWCGROUP | unix.CLONE_NEWUSER | unix.CLONE_NEWTIME

// Setns implements Linux syscall setns(2). fd is a /proc/[pid]/ns file
// of a user, mount, UTS, IPC, network, PID, cgroup or time namespace,
// with nstype 0 or that kind's CLONE_NEW* flag, or a pidfd with a
// non-empty set of flags, whose namespaces of those kinds the caller
// joins together (sentry/kernel/setns.go).
func Setns(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	nstype := args[1]
	f, err := getFile(t, int32(args[0]))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	var namespaces []any
	if p, ok := f.Impl().(*kernel.PIDFD); ok {
		if nstype == 0 || nstype&^setnsFlags != 0 {
			return 0, unix.EINVAL
		}
		if namespaces, err = p.ThreadGroup().Namespaces(nstype); err != nil {
			return 0, err
		}
	} else {
		d := f.Dentry()
		if d == nil {
			return 0, unix.EINVAL
		}
		ni, ok := d.Inode().(*vfs.NamespaceInode)
		if !ok {
			return 0, unix.EINVAL
		}
		flag := kernel.NamespaceFlag(ni.Namespace)
		if flag == 0 || (nstype != 0 && nstype != flag) {
			return 0, unix.EINVAL
		}
		namespaces = []any{ni.Namespace}
	}
	return 0, t.Setns(namespaces)
}
