package boot

import (
	"golang.org/x/sys/unix"

	hs "github.com/cocoonrt/cocoon/internal/hostseccomp"
	"github.com/cocoonrt/cocoon/sentry/platform/probe"
)

// archSetFS is arch_prctl's ARCH_SET_FS, with which a new Go thread sets
// its thread-local storage.
const archSetFS = 0x1002

// kvmIoctlType is the type byte (bits 8-15) of every KVM ioctl.
const kvmIoctlType = 0xae

// fionbio is FIONBIO, which x/sys/unix does not name.
const fionbio = 0x5421

// sentryRules is the sentry's allow-list of host system calls once
// confined, for platform (a probe name) and for a pod on the node's
// network or not. It was found by reading the sentry and the Go runtime
// and confirmed by running the test suites, critest and the e2e tests
// with COCOON_SENTRY_SECCOMP=log, which logs what the filter would
// refuse. Keep the description at the top of confine.go in step.
func sentryRules(platform string, hostNetwork bool) []hs.Rule {
	rules := []hs.Rule{
		// Descriptors the sentry holds: the gofer's donated files,
		// the memory file, sockets, pipes, eventfds, the terminal of
		// `cocoon do`.
		hs.Allow(unix.SYS_READ),
		hs.Allow(unix.SYS_WRITE),
		hs.Allow(unix.SYS_READV),
		hs.Allow(unix.SYS_WRITEV),
		hs.Allow(unix.SYS_PREAD64),
		hs.Allow(unix.SYS_PWRITE64),
		hs.Allow(unix.SYS_PREADV),
		hs.Allow(unix.SYS_PWRITEV),
		hs.Allow(unix.SYS_PREADV2),
		hs.Allow(unix.SYS_PWRITEV2),
		hs.Allow(unix.SYS_CLOSE),
		hs.Allow(unix.SYS_FSTAT),
		hs.Allow(unix.SYS_LSEEK),
		hs.Allow(unix.SYS_FCNTL),
		hs.Allow(unix.SYS_FTRUNCATE),
		hs.Allow(unix.SYS_FALLOCATE),
		hs.Allow(unix.SYS_FSYNC),
		hs.Allow(unix.SYS_FDATASYNC),
		hs.Allow(unix.SYS_FCHMOD),
		hs.Allow(unix.SYS_FCHOWN),
		hs.Allow(unix.SYS_FSTATFS),
		hs.Allow(unix.SYS_GETDENTS64),
		hs.Allow(unix.SYS_DUP),
		hs.Allow(unix.SYS_DUP3),
		// Times of a donated file by descriptor alone: a NULL path.
		hs.ArgEq(unix.SYS_UTIMENSAT, 1, 0),
		// The Go library's zero-copy paths between descriptors
		// (net.TCPConn.ReadFrom, os.File.ReadFrom, io.Copy).
		hs.Allow(unix.SYS_SPLICE),
		hs.Allow(unix.SYS_TEE),
		hs.Allow(unix.SYS_SENDFILE),
		hs.Allow(unix.SYS_COPY_FILE_RANGE),
		hs.Allow(unix.SYS_PIPE2),
		hs.Allow(unix.SYS_EVENTFD2),
		hs.Allow(unix.SYS_EPOLL_CREATE1),
		hs.Allow(unix.SYS_EPOLL_CTL),
		hs.Allow(unix.SYS_EPOLL_WAIT),
		hs.Allow(unix.SYS_EPOLL_PWAIT),
		hs.Allow(unix.SYS_EPOLL_PWAIT2),
		hs.Allow(unix.SYS_POLL),
		hs.Allow(unix.SYS_PPOLL),
		// Sockets it holds (gofer, control, packet, host sockets of a
		// hostNetwork pod); new ones only for hostNetwork, below.
		hs.Allow(unix.SYS_SENDMSG),
		hs.Allow(unix.SYS_RECVMSG),
		hs.Allow(unix.SYS_SENDMMSG),
		hs.Allow(unix.SYS_RECVMMSG),
		hs.Allow(unix.SYS_SENDTO),
		hs.Allow(unix.SYS_RECVFROM),
		hs.Allow(unix.SYS_ACCEPT4), // the control socket
		hs.Allow(unix.SYS_SHUTDOWN),
		hs.Allow(unix.SYS_GETSOCKOPT),
		hs.Allow(unix.SYS_SETSOCKOPT),
		hs.Allow(unix.SYS_GETSOCKNAME),
		hs.Allow(unix.SYS_GETPEERNAME),
		// Memory: the Go heap and the memory file's mappings.
		hs.Allow(unix.SYS_MUNMAP),
		hs.Allow(unix.SYS_MREMAP),
		hs.Allow(unix.SYS_MADVISE),
		hs.Allow(unix.SYS_MINCORE),
		hs.Allow(unix.SYS_MSYNC),
		// The Go runtime.
		hs.Allow(unix.SYS_FUTEX),
		// Host timers for short waits (kernel/host_timer.go).
		hs.Allow(unix.SYS_TIMERFD_CREATE),
		hs.Allow(unix.SYS_TIMERFD_SETTIME),
		hs.Allow(unix.SYS_NANOSLEEP),
		hs.Allow(unix.SYS_CLOCK_NANOSLEEP),
		hs.Allow(unix.SYS_CLOCK_GETTIME),
		hs.Allow(unix.SYS_CLOCK_GETRES),
		hs.Allow(unix.SYS_GETTIMEOFDAY),
		hs.Allow(unix.SYS_GETRANDOM),
		hs.Allow(unix.SYS_SCHED_YIELD),
		hs.Allow(unix.SYS_SCHED_GETAFFINITY),
		hs.Allow(unix.SYS_SCHED_SETAFFINITY), // platforms pin stub threads
		hs.Allow(unix.SYS_GETPID),
		hs.Allow(unix.SYS_GETTID),
		hs.Allow(unix.SYS_GETPPID),
		hs.Allow(unix.SYS_GETUID),
		hs.Allow(unix.SYS_GETEUID),
		hs.Allow(unix.SYS_GETGID),
		hs.Allow(unix.SYS_GETEGID),
		hs.Allow(unix.SYS_GETRUSAGE),
		hs.Allow(unix.SYS_GETCPU), // the ptrace platform pins stubs to its CPU
		hs.Allow(unix.SYS_PRLIMIT64),
		hs.Allow(unix.SYS_EXIT),
		hs.Allow(unix.SYS_EXIT_GROUP),
		hs.Allow(unix.SYS_RT_SIGACTION),
		hs.Allow(unix.SYS_RT_SIGPROCMASK),
		hs.Allow(unix.SYS_RT_SIGRETURN),
		hs.Allow(unix.SYS_SIGALTSTACK),
		hs.Allow(unix.SYS_RESTART_SYSCALL),
		// Signals: its own threads, and the platform's stubs, which
		// are its children in its own PID namespace: no other process
		// is visible to it.
		hs.Allow(unix.SYS_TGKILL),
		hs.Allow(unix.SYS_TKILL),
		hs.Allow(unix.SYS_KILL),
		hs.ArgEq(unix.SYS_ARCH_PRCTL, 0, archSetFS),
		hs.ArgEq(unix.SYS_PRCTL, 0, unix.PR_SET_VMA),
		// Threads only: CLONE_THREAD and CLONE_VM set. clone3 hides
		// its flags behind a pointer and is refused.
		{Nr: unix.SYS_CLONE, Conds: []hs.Cond{{Arg: 0, Op: hs.AllOf, Mask: unix.CLONE_THREAD | unix.CLONE_VM}}},
		// Terminal and socket-queue requests on host descriptors
		// (sentry/fs/host, sentry/socket/hostinet).
		hs.ArgEq(unix.SYS_IOCTL, 1, unix.TCGETS),
		hs.ArgEq(unix.SYS_IOCTL, 1, unix.TCSETS),
		hs.ArgEq(unix.SYS_IOCTL, 1, unix.TCSETSW),
		hs.ArgEq(unix.SYS_IOCTL, 1, unix.TCSETSF),
		hs.ArgEq(unix.SYS_IOCTL, 1, unix.TIOCGWINSZ),
		hs.ArgEq(unix.SYS_IOCTL, 1, unix.TIOCSWINSZ),
		hs.ArgEq(unix.SYS_IOCTL, 1, unix.TIOCINQ),
		hs.ArgEq(unix.SYS_IOCTL, 1, unix.TIOCOUTQ),
		hs.ArgEq(unix.SYS_IOCTL, 1, fionbio),
	}
	exec := platform == probe.KVM
	if exec {
		// The KVM platform maps guest code; the others never make
		// memory executable in the sentry.
		rules = append(rules, hs.Allow(unix.SYS_MMAP), hs.Allow(unix.SYS_MPROTECT),
			hs.Rule{Nr: unix.SYS_IOCTL, Conds: []hs.Cond{{Arg: 1, Op: hs.MaskedEq, Mask: 0xff00, Value: kvmIoctlType << 8}}})
	} else {
		rules = append(rules,
			hs.Rule{Nr: unix.SYS_MMAP, Conds: []hs.Cond{{Arg: 2, Op: hs.NoneOf, Mask: unix.PROT_EXEC}}},
			hs.Rule{Nr: unix.SYS_MPROTECT, Conds: []hs.Cond{{Arg: 2, Op: hs.NoneOf, Mask: unix.PROT_EXEC}}})
	}
	if platform == probe.Systrap || platform == probe.Ptrace {
		// The stubs: traced, waited for.
		// pidfd_open: only the sentry's own stubs are in its PID
		// namespace.
		rules = append(rules, hs.Allow(unix.SYS_PTRACE), hs.Allow(unix.SYS_WAIT4), hs.Allow(unix.SYS_WAITID),
			hs.Allow(unix.SYS_PIDFD_OPEN))
	}
	if hostNetwork {
		// A hostNetwork pod's sockets are the node's: IPv4 and IPv6
		// only, and the interface requests of sentry/socket/netif.
		for _, domain := range []uint64{unix.AF_INET, unix.AF_INET6} {
			rules = append(rules, hs.ArgEq(unix.SYS_SOCKET, 0, domain))
		}
		rules = append(rules, hs.Allow(unix.SYS_BIND), hs.Allow(unix.SYS_LISTEN), hs.Allow(unix.SYS_CONNECT))
		for _, req := range []uint64{unix.SIOCGIFCONF, unix.SIOCGIFNAME, unix.SIOCGIFINDEX, unix.SIOCGIFFLAGS,
			unix.SIOCGIFMTU, unix.SIOCGIFHWADDR, unix.SIOCGIFTXQLEN, unix.SIOCGIFMETRIC, unix.SIOCGIFMAP,
			unix.SIOCGIFADDR, unix.SIOCGIFNETMASK, unix.SIOCGIFBRDADDR, unix.SIOCGIFDSTADDR} {
			rules = append(rules, hs.ArgEq(unix.SYS_IOCTL, 1, req))
		}
	}
	return rules
}
