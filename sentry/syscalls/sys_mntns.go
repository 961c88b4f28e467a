package syscalls

import (
	"golang.org/x/sys/unix"

	"github.com/cocoonrt/cocoon/sentry/arch"
	"github.com/cocoonrt/cocoon/sentry/kernel"
	"github.com/cocoonrt/cocoon/sentry/vfs"
)

// Mount namespaces: pivot_root(2). unshare and clone with CLONE_NEWNS are
// the kernel's (kernel/mounts.go), setns(2) is in sys_setns.go.

// PivotRoot implements Linux syscall pivot_root(2).
func PivotRoot(t *kernel.Task, args arch.SyscallArgs) (uint64, error) {
	if !t.FSCreds().HasCap(vfs.CapSysAdmin) {
		return 0, unix.EPERM
	}
	resolveDir := func(addr uint64) (*vfs.Dentry, error) {
		p, err := copyInPath(t, addr)
		if err != nil {
			return nil, err
		}
		if p == "" {
			return nil, unix.ENOENT
		}
		start, err := startDir(t, atFDCWD, p)
		if err != nil {
			return nil, err
		}
		return vfs.Resolve(t.Root(), start, p, vfs.ResolveOpts{FollowFinal: true, WantDir: true, Creds: t.FSCreds()})
	}
	newRoot, err := resolveDir(args[0])
	if err != nil {
		return 0, err
	}
	putOld, err := resolveDir(args[1])
	if err != nil {
		return 0, err
	}
	return 0, t.PivotRoot(newRoot, putOld)
}
