package syscalls

import (
	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/arch"
	"github.com/cocoonrt/cocoon/sentry/fs/tmpfs"
	"github.com/cocoonrt/cocoon/sentry/kernel"
	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// memfd_create(2) flags x/sys does not name for amd64 everywhere.
const (
	mfdCloexec      = 0x1
	mfdAllowSealing = 0x2
	mfdHugetlb      = 0x4
	mfdNoexecSeal   = 0x8
	mfdExec         = 0x10
	// memfdNameMax is the longest name (249 bytes: NAME_MAX minus
	// "memfd:").
	memfdNameMax = 249
)

// MemfdCreate implements Linux syscall memfd_create(2): an anonymous
// tmpfs file in sentry memory.
func MemfdCreate(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	flags := uint32(args[1])
	if flags&^(mfdCloexec|mfdAllowSealing|mfdHugetlb|mfdNoexecSeal|mfdExec) != 0 ||
		flags&(mfdNoexecSeal|mfdExec) == mfdNoexecSeal|mfdExec {
		return 0, unix.EINVAL
	}
	if flags&mfdHugetlb != 0 {
		// Sentry memory has no huge-page pool to draw from.
		return 0, unix.EINVAL
	}
	name, err := t.CopyInString(args[0], memfdNameMax+1)
	if err != nil {
		if err == unix.ENAMETOOLONG {
			return 0, unix.EINVAL
		}
		return 0, err
	}
	if len(name) > memfdNameMax {
		return 0, unix.EINVAL
	}
	mode := uint32(0o777)
	allowSealing := flags&mfdAllowSealing != 0
	if flags&mfdNoexecSeal != 0 {
		mode = 0o666
		allowSealing = true
	}
	creds := t.FSCreds()
	inode, impl := t.Kernel().Memfds().NewMemfd(mode, vfs.Owner{UID: creds.UID, GID: creds.GID}, allowSealing)
	if flags&mfdNoexecSeal != 0 {
		_ = impl.(tmpfs.Sealer).AddSeals(unix.F_SEAL_EXEC)
	}
	f := vfs.NewFile(impl, vfs.NewAnonymous("memfd:"+name, inode), unix.O_RDWR)
	defer f.DecRef()
	fd, err := t.FDs().NewFD(f, 0, flags&mfdCloexec != 0, t.RLimit(unix.RLIMIT_NOFILE).Cur)
	return uint64(fd), err
}

// fcntlSeals implements F_ADD_SEALS and F_GET_SEALS.
func fcntlSeals(f *vfs.File, cmd int, arg uint64) (uint64, error) {
	s, ok := f.Impl().(tmpfs.Sealer)
	if !ok {
		return 0, unix.EINVAL
	}
	if cmd == unix.F_GET_SEALS {
		return uint64(s.Seals()), nil
	}
	if !f.Writable() {
		return 0, unix.EPERM
	}
	return 0, s.AddSeals(uint32(arg))
}
