package syscalls

import (
	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/arch"
	"github.com/cocoonrt/cocoon/sentry/fs/dev"
	"github.com/cocoonrt/cocoon/sentry/kernel"
	"github.com/cocoonrt/cocoon/sentry/mm"
	"github.com/cocoonrt/cocoon/sentry/platform"
)

const (
	mapSharedValidate = 0x3
	mapFixedNoreplace = 0x100000
	protGrowsdown     = 0x01000000
	protGrowsup       = 0x02000000
	mmapValidateKnown = unix.MAP_SHARED | unix.MAP_PRIVATE | mapSharedValidate | unix.MAP_FIXED | unix.MAP_ANONYMOUS | unix.MAP_GROWSDOWN | unix.MAP_DENYWRITE | unix.MAP_EXECUTABLE | unix.MAP_LOCKED | unix.MAP_NORESERVE | unix.MAP_POPULATE | unix.MAP_NONBLOCK | unix.MAP_STACK | unix.MAP_HUGETLB | unix.MAP_SYNC | mapFixedNoreplace | 0xfc000000
	protKnown         = unix.PROT_READ | unix.PROT_WRITE | unix.PROT_EXEC
)

func protToPerms(prot uint64) platform.AccessType {
	var p platform.AccessType
	if prot&unix.PROT_READ != 0 {
		p |= platform.Read
	}
	if prot&unix.PROT_WRITE != 0 {
		p |= platform.Write
	}
	if prot&unix.PROT_EXEC != 0 {
		p |= platform.Execute
	}
	return p
}

// Mmap implements Linux syscall mmap(2).
func Mmap(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	addr, length, prot, flags, fd, off := args[0], args[1], args[2], args[3], int32(args[4]), args[5]
	mapType := flags & mapSharedValidate
	if mapType == 0 {
		return 0, unix.EINVAL
	}
	if mapType == mapSharedValidate && flags&^uint64(mmapValidateKnown) != 0 {
		return 0, unix.EOPNOTSUPP
	}
	if prot&^protKnown != 0 || length == 0 {
		return 0, unix.EINVAL
	}
	opts := mm.MMapOpts{
		Length:    length,
		Addr:      addr,
		Fixed:     flags&(unix.MAP_FIXED|mapFixedNoreplace) != 0,
		NoReplace: flags&mapFixedNoreplace != 0,
		Perms:     protToPerms(prot),
		Private:   mapType == unix.MAP_PRIVATE,
		GrowsDown: flags&unix.MAP_GROWSDOWN != 0,
		Populate:  flags&unix.MAP_POPULATE != 0,
		NoReserve: flags&unix.MAP_NORESERVE != 0,
		Locked:    flags&unix.MAP_LOCKED != 0,
	}
	if opts.Fixed && addr%arch.PageSize != 0 {
		return 0, unix.EINVAL
	}
	if err := mmapLockAllowed(t, opts.Locked, length); err != nil {
		return 0, err
	}
	if flags&unix.MAP_ANONYMOUS == 0 {
		f, err := getFile(t, fd)
		if err != nil {
			return 0, err
		}
		defer f.DecRef()
		if off%arch.PageSize != 0 {
			return 0, unix.EINVAL
		}
		if !f.Readable() {
			return 0, unix.EACCES
		}
		if prot&unix.PROT_EXEC != 0 && f.Dentry() != nil && f.Dentry().NoExec() {
			return 0, unix.EPERM
		}
		if dev.IsZero(f.Impl()) {
			// Mapping /dev/zero is anonymous memory.
			off = 0
		} else {
			m, ok := f.Impl().(mm.Mappable)
			if !ok {
				return 0, unix.ENODEV
			}
			if !opts.Private {
				// Shared file mappings are only as writable as the
				// descriptor.
				if prot&unix.PROT_WRITE != 0 && !f.Writable() {
					return 0, unix.EACCES
				}
				if !f.Writable() {
					opts.MaxPerms = platform.Read | platform.Execute
				}
				if ms, ok := f.Impl().(interface{ MapSealed() bool }); ok && ms.MapSealed() {
					// F_SEAL_WRITE forbids writable shared mappings,
					// now and through mprotect later.
					if prot&unix.PROT_WRITE != 0 {
						return 0, unix.EPERM
					}
					opts.MaxPerms = platform.Read | platform.Execute
				}
			}
			opts.File = kernel.NewMappedFile(f, m)
			opts.Offset = off
		}
	}
	return t.MM().MMap(opts)
}

// Munmap implements Linux syscall munmap(2).
func Munmap(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	return 0, t.MM().Munmap(args[0], args[1])
}

// Mprotect implements Linux syscall mprotect(2).
func Mprotect(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	prot := args[2]
	if prot&^(protKnown|protGrowsdown|protGrowsup) != 0 || prot&(protGrowsdown|protGrowsup) == protGrowsdown|protGrowsup {
		return 0, unix.EINVAL
	}
	return 0, t.MM().Mprotect(args[0], args[1], protToPerms(prot), prot&protGrowsdown != 0)
}

// Brk implements Linux syscall brk(2).
func Brk(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	return t.MM().Brk(args[0]), nil
}

// Mremap implements Linux syscall mremap(2).
func Mremap(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	return t.MM().Mremap(args[0], args[1], args[2], int(args[3]), args[4])
}

// Madvise implements Linux syscall madvise(2).
func Madvise(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	advice := int(args[2])
	switch advice {
	case unix.MADV_NORMAL, unix.MADV_RANDOM, unix.MADV_SEQUENTIAL, unix.MADV_WILLNEED,
		unix.MADV_DONTNEED, unix.MADV_FREE, unix.MADV_DONTFORK, unix.MADV_DOFORK,
		unix.MADV_MERGEABLE, unix.MADV_UNMERGEABLE, unix.MADV_HUGEPAGE, unix.MADV_NOHUGEPAGE,
		unix.MADV_DONTDUMP, unix.MADV_DODUMP, unix.MADV_COLD, unix.MADV_PAGEOUT, unix.MADV_WIPEONFORK, unix.MADV_KEEPONFORK:
	default:
		return 0, unix.EINVAL
	}
	return 0, t.MM().Madvise(args[0], args[1], advice)
}

// Mincore implements Linux syscall mincore(2).
func Mincore(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	vec, err := t.MM().Mincore(args[0], args[1])
	if err != nil {
		return 0, err
	}
	if _, err := t.CopyOut(args[2], vec); err != nil {
		return 0, unix.EFAULT
	}
	return 0, nil
}

// Msync implements Linux syscall msync(2).
func Msync(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	flags := args[2]
	if flags&^(unix.MS_ASYNC|unix.MS_INVALIDATE|unix.MS_SYNC) != 0 || flags&(unix.MS_ASYNC|unix.MS_SYNC) == unix.MS_ASYNC|unix.MS_SYNC {
		return 0, unix.EINVAL
	}
	return 0, t.MM().Msync(args[0], args[1])
}
