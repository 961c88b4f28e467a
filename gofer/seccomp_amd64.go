package gofer

import (
	"golang.org/x/sys/unix"

	hs "github.com/cocoonrt/cocoon/internal/hostseccomp"
)

// seccompArch is the audit architecture of the only system call ABI the
// gofer's filter accepts. x32 calls (the same architecture, with
// __X32_SYSCALL_BIT set in the number) are refused separately.
const seccompArch = unix.AUDIT_ARCH_X86_64

// archSetFS is arch_prctl's ARCH_SET_FS, with which a new Go thread sets
// its thread-local storage.
const archSetFS = 0x1002

// goferRules is the gofer's allow-list of host system calls while it
// serves, found by reading the server and the Go runtime and confirmed by
// running the gofer tests and `cocoon do` workloads under a logging
// filter. Every other call, and every call of another ABI, kills the
// process. Keep confine.go's description of the argument checks in step.
func goferRules(pid uint32) []hs.Rule {
	return []hs.Rule{
		// The server's own calls.
		hs.Allow(unix.SYS_READ),              // eventfd (netpoll), directory reads via os
		hs.Allow(unix.SYS_WRITE),             // stderr, netpoll wake-ups
		hs.Allow(unix.SYS_CLOSE),             // FIDs, donated descriptors
		hs.Allow(unix.SYS_LSEEK),             // Getdents rewinds its directory descriptor
		hs.Allow(unix.SYS_PREAD64),           // the runtime re-reads its cgroup CPU limit
		hs.Allow(unix.SYS_PWRITE64),          // FinishHeld writes a new file's data
		hs.Allow(unix.SYS_SENDMSG),           // replies, SCM_RIGHTS
		hs.Allow(unix.SYS_RECVMSG),           // requests; tree socket requests with SCM_RIGHTS
		hs.Allow(unix.SYS_ACCEPT4),           // tree socket connections (treesocket.go)
		hs.Allow(unix.SYS_SHUTDOWN),          // ending a connection wakes its blocked receive (conn.go)
		hs.Allow(unix.SYS_FCNTL),             // os.File and x/sys helpers
		hs.Allow(unix.SYS_FTRUNCATE),         // Open with O_TRUNC, SetAttr size
		hs.Allow(unix.SYS_FSTATFS),           // StatFS
		hs.Allow(unix.SYS_FSETXATTR),         // Setxattr
		hs.Allow(unix.SYS_FGETXATTR),         // Getxattr
		hs.Allow(unix.SYS_FLISTXATTR),        // Listxattr
		hs.Allow(unix.SYS_FREMOVEXATTR),      // Removexattr
		hs.Allow(unix.SYS_GETDENTS64),        // Getdents
		hs.Allow(unix.SYS_OPENAT),            // openat2 fallback on old kernels
		hs.Allow(unix.SYS_MKDIRAT),           // Mkdir
		hs.Allow(unix.SYS_MKNODAT),           // Mknod (no devices: checked before)
		hs.Allow(unix.SYS_FCHOWNAT),          // owners of new files, SetAttr
		hs.Allow(unix.SYS_NEWFSTATAT),        // every Stat
		hs.Allow(unix.SYS_UNLINKAT),          // Unlink, undoing a failed create
		hs.Allow(unix.SYS_LINKAT),            // Link
		hs.Allow(unix.SYS_SYMLINKAT),         // Symlink
		hs.Allow(unix.SYS_READLINKAT),        // Readlink
		hs.Allow(unix.SYS_UTIMENSAT),         // SetAttr times
		hs.Allow(unix.SYS_RENAMEAT2),         // Rename
		hs.Allow(unix.SYS_OPENAT2),           // every open (RESOLVE_BENEATH)
		hs.Allow(unix.SYS_FCHMODAT2),         // modes of new files, SetAttr
		hs.Allow(unix.SYS_EPOLL_CTL),         // the socket's poller registration
		hs.Allow(unix.SYS_EPOLL_PWAIT),       // the Go netpoller
		hs.Allow(unix.SYS_EPOLL_PWAIT2),      // the Go netpoller (newer runtimes)
		hs.Allow(unix.SYS_EVENTFD2),          // the Go netpoller's lazy start
		hs.Allow(unix.SYS_EPOLL_CREATE1),     // the Go netpoller's lazy start
		hs.Allow(unix.SYS_FUTEX),             // the Go runtime from here on
		hs.Allow(unix.SYS_MUNMAP),            //
		hs.Allow(unix.SYS_MADVISE),           //
		hs.Allow(unix.SYS_RT_SIGACTION),      //
		hs.Allow(unix.SYS_RT_SIGPROCMASK),    //
		hs.Allow(unix.SYS_RT_SIGRETURN),      //
		hs.Allow(unix.SYS_SCHED_YIELD),       //
		hs.Allow(unix.SYS_NANOSLEEP),         // usleep
		hs.Allow(unix.SYS_GETPID),            //
		hs.Allow(unix.SYS_EXIT),              // a thread ending
		hs.Allow(unix.SYS_SIGALTSTACK),       // every new thread
		hs.Allow(unix.SYS_GETTID),            // every new thread
		hs.Allow(unix.SYS_RESTART_SYSCALL),   // a nanosleep or futex a signal interrupted
		hs.Allow(unix.SYS_CLOCK_GETTIME),     // when the vDSO is unavailable
		hs.Allow(unix.SYS_EXIT_GROUP),        //
		hs.Allow(unix.SYS_SCHED_GETAFFINITY), // the runtime re-reads its CPU count
		// Memory is never made executable: the Go runtime maps data only.
		{Nr: unix.SYS_MMAP, Conds: []hs.Cond{{Arg: 2, Op: hs.NoneOf, Mask: unix.PROT_EXEC}}},
		{Nr: unix.SYS_MPROTECT, Conds: []hs.Cond{{Arg: 2, Op: hs.NoneOf, Mask: unix.PROT_EXEC}}},
		// Threads only: fork (clone without CLONE_THREAD) is refused; clone3
		// is not allowed at all, since its flags are behind a pointer.
		{Nr: unix.SYS_CLONE, Conds: []hs.Cond{{Arg: 0, Op: hs.AllOf, Mask: unix.CLONE_THREAD}}},
		// Connect's socket pairs (connect.go).
		hs.ArgEq(unix.SYS_SOCKETPAIR, 0, unix.AF_UNIX),
		hs.Allow(unix.SYS_SETSOCKOPT), // their send buffers
		// Signals only to this process (preemption, crashes).
		hs.ArgEq(unix.SYS_KILL, 0, uint64(pid)),
		hs.ArgEq(unix.SYS_TGKILL, 0, uint64(pid)),
		// A new thread setting its TLS.
		hs.ArgEq(unix.SYS_ARCH_PRCTL, 0, archSetFS),
		// The runtime names its anonymous mappings (PR_SET_VMA).
		hs.ArgEq(unix.SYS_PRCTL, 0, unix.PR_SET_VMA),
	}
}
