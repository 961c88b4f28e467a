package kernel

import (
	"encoding/binary"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// The ioctls of namespace files (Linux's fs/nsfs.c ns_ioctl).
const (
	nsGetUserNS   = 0xb701 // NS_GET_USERNS: the owning user namespace
	nsGetParent   = 0xb702 // NS_GET_PARENT
	nsGetNSType   = 0xb703 // NS_GET_NSTYPE: the CLONE_NEW* flag
	nsGetOwnerUID = 0xb704 // NS_GET_OWNER_UID: a user namespace's creator
)

func init() { vfs.NamespaceIoctl = namespaceIoctl }

// namespaceIoctl serves an ioctl of a file of namespace ns for the task
// io. NS_GET_USERNS and NS_GET_PARENT return a new descriptor (close on
// exec) of the owning user namespace, or of a user namespace's parent:
// EPERM when that namespace is not the caller's or below it (what a
// process may not name, as ns_get_owner refuses). The sandbox's other
// hierarchical kind, PID namespaces, has no parent to give here
// (EINVAL, as for a kind without hierarchy).
func namespaceIoctl(io vfs.IoctlIO, ns any, request, arg uint64) (uint64, error) {
	t, ok := io.(*Task)
	if !ok {
		return 0, unix.ENOTTY
	}
	switch request {
	case nsGetNSType:
		return NamespaceFlag(ns), nil
	case nsGetOwnerUID:
		u, ok := ns.(*UserNamespace)
		if !ok {
			return 0, unix.EINVAL
		}
		var b [4]byte
		binary.LittleEndian.PutUint32(b[:], t.creds.UserNamespace().MungedUID(u.owner))
		if _, err := t.CopyOut(arg, b[:]); err != nil {
			return 0, unix.EFAULT
		}
		return 0, nil
	case nsGetUserNS:
		return t.userNamespaceFD(namespaceOwner(ns))
	case nsGetParent:
		u, ok := ns.(*UserNamespace)
		if !ok {
			return 0, unix.EINVAL
		}
		return t.userNamespaceFD(u.parent)
	}
	return 0, unix.ENOTTY
}

// userNamespaceFD opens a file of ns in the task's descriptor table; EPERM
// when ns is nil or not the task's namespace or one below it.
func (t *Task) userNamespaceFD(ns *UserNamespace) (uint64, error) {
	if ns == nil || !t.creds.UserNamespace().isAncestorOf(ns) {
		return 0, unix.EPERM
	}
	d := vfs.NewAnonymous("user:["+strconv.FormatUint(ns.ino, 10)+"]", &vfs.NamespaceInode{Namespace: ns, Ino: ns.ino})
	impl, err := d.Inode().Open(unix.O_RDONLY)
	if err != nil {
		return 0, err
	}
	f := vfs.NewFile(impl, d, unix.O_RDONLY)
	fd, err := t.fds.NewFD(f, 0, true, t.RLimit(unix.RLIMIT_NOFILE).Cur)
	f.DecRef()
	if err != nil {
		return 0, err
	}
	return uint64(fd), nil
}
