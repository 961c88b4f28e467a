//go:build amd64

package boot

import (
	"testing"

	"golang.org/x/sys/unix"

	hs "github.com/cocoonrt/cocoon/internal/hostseccomp"
	"github.com/cocoonrt/cocoon/sentry/platform/probe"
)

// The calls an escaped program would want first are never allowed, on
// any platform; ptrace only where the platform traces its stubs, new
// sockets only for a hostNetwork pod.
func TestSentryRulesRefuse(t *testing.T) {
	never := []uint32{unix.SYS_OPEN, unix.SYS_OPENAT, unix.SYS_OPENAT2, unix.SYS_EXECVE, unix.SYS_EXECVEAT,
		unix.SYS_MOUNT, unix.SYS_UMOUNT2, unix.SYS_PIVOT_ROOT, unix.SYS_CHROOT, unix.SYS_SETNS, unix.SYS_UNSHARE,
		unix.SYS_CLONE3, unix.SYS_FORK, unix.SYS_VFORK, unix.SYS_OPEN_BY_HANDLE_AT, unix.SYS_NAME_TO_HANDLE_AT,
		unix.SYS_BPF, unix.SYS_KEYCTL, unix.SYS_ADD_KEY, unix.SYS_PROCESS_VM_READV, unix.SYS_PROCESS_VM_WRITEV,
		unix.SYS_INIT_MODULE, unix.SYS_FINIT_MODULE, unix.SYS_KEXEC_LOAD, unix.SYS_REBOOT, unix.SYS_SETUID,
		unix.SYS_SETRESUID, unix.SYS_CAPSET, unix.SYS_SECCOMP, unix.SYS_USERFAULTFD, unix.SYS_PERF_EVENT_OPEN,
		unix.SYS_IO_URING_SETUP, unix.SYS_MKDIRAT, unix.SYS_UNLINKAT, unix.SYS_RENAMEAT2, unix.SYS_LINKAT,
		unix.SYS_SYMLINKAT, unix.SYS_FCHMODAT, unix.SYS_FCHOWNAT, unix.SYS_NEWFSTATAT, unix.SYS_STATX}
	for _, pl := range []string{probe.KVM, probe.Systrap, probe.Ptrace} {
		for _, hostNet := range []bool{false, true} {
			rules := sentryRules(pl, hostNet)
			allowed := map[uint32]bool{}
			for _, r := range rules {
				allowed[r.Nr] = true
			}
			for _, nr := range never {
				if allowed[nr] {
					t.Errorf("%s (hostNetwork %v): system call %d allowed", pl, hostNet, nr)
				}
			}
			if got := allowed[unix.SYS_PTRACE]; got != (pl != probe.KVM) {
				t.Errorf("%s: ptrace allowed = %v", pl, got)
			}
			for _, nr := range []uint32{unix.SYS_SOCKET, unix.SYS_BIND, unix.SYS_CONNECT, unix.SYS_LISTEN} {
				if allowed[nr] != hostNet {
					t.Errorf("%s (hostNetwork %v): system call %d allowed = %v", pl, hostNet, nr, allowed[nr])
				}
			}
			if _, err := hs.Build(unix.AUDIT_ARCH_X86_64, rules, unix.SECCOMP_RET_TRAP); err != nil {
				t.Errorf("%s: %v", pl, err)
			}
		}
	}
}

// Building the filter is part of every sentry's start: it must cost
// next to nothing next to a pod start (~150 ms).
func BenchmarkSentryFilterBuild(b *testing.B) {
	for b.Loop() {
		if _, err := hs.Build(unix.AUDIT_ARCH_X86_64, sentryRules(probe.Systrap, false), unix.SECCOMP_RET_TRAP); err != nil {
			b.Fatal(err)
		}
	}
}
