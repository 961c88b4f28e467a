package gofer

import "golang.org/x/sys/unix"

// seccompArch is the audit architecture of the only system call ABI the
// gofer's filter accepts. x32 calls (the same architecture, with
// __X32_SYSCALL_BIT set in the number) are refused separately.
const seccompArch = unix.AUDIT_ARCH_X86_64

// archSetFS is arch_prctl's ARCH_SET_FS, with which a new Go thread sets
// its thread-local storage.
const archSetFS = 0x1002

// seccompRules is the gofer's allow-list of host system calls while it
// serves, found by reading the server and the Go runtime and confirmed by
// running the gofer tests and `cocoon do` workloads under a logging
// filter. Every other call, and every call of another ABI, kills the
// process. Keep confine.go's description of the argument checks in step.
var seccompRules = []seccompRule{
	// The server's own calls.
	{nr: unix.SYS_READ},              // eventfd (netpoll), directory reads via os
	{nr: unix.SYS_WRITE},             // stderr, netpoll wake-ups
	{nr: unix.SYS_CLOSE},             // FIDs, donated descriptors
	{nr: unix.SYS_LSEEK},             // Getdents rewinds its directory descriptor
	{nr: unix.SYS_PREAD64},           // the runtime re-reads its cgroup CPU limit
	{nr: unix.SYS_SENDMSG},           // replies, SCM_RIGHTS
	{nr: unix.SYS_RECVMSG},           // requests; tree socket requests with SCM_RIGHTS
	{nr: unix.SYS_ACCEPT4},           // tree socket connections (treesocket.go)
	{nr: unix.SYS_FCNTL},             // os.File and x/sys helpers
	{nr: unix.SYS_FTRUNCATE},         // Open with O_TRUNC, SetAttr size
	{nr: unix.SYS_FSTATFS},           // StatFS
	{nr: unix.SYS_FSETXATTR},         // Setxattr
	{nr: unix.SYS_FGETXATTR},         // Getxattr
	{nr: unix.SYS_FLISTXATTR},        // Listxattr
	{nr: unix.SYS_FREMOVEXATTR},      // Removexattr
	{nr: unix.SYS_GETDENTS64},        // Getdents
	{nr: unix.SYS_OPENAT},            // openat2 fallback on old kernels
	{nr: unix.SYS_MKDIRAT},           // Mkdir
	{nr: unix.SYS_MKNODAT},           // Mknod (no devices: checked before)
	{nr: unix.SYS_FCHOWNAT},          // owners of new files, SetAttr
	{nr: unix.SYS_NEWFSTATAT},        // every Stat
	{nr: unix.SYS_UNLINKAT},          // Unlink, undoing a failed create
	{nr: unix.SYS_LINKAT},            // Link
	{nr: unix.SYS_SYMLINKAT},         // Symlink
	{nr: unix.SYS_READLINKAT},        // Readlink
	{nr: unix.SYS_UTIMENSAT},         // SetAttr times
	{nr: unix.SYS_RENAMEAT2},         // Rename
	{nr: unix.SYS_OPENAT2},           // every open (RESOLVE_BENEATH)
	{nr: unix.SYS_FCHMODAT2},         // modes of new files, SetAttr
	{nr: unix.SYS_EPOLL_CTL},         // the socket's poller registration
	{nr: unix.SYS_EPOLL_PWAIT},       // the Go netpoller
	{nr: unix.SYS_EPOLL_PWAIT2},      // the Go netpoller (newer runtimes)
	{nr: unix.SYS_EVENTFD2},          // the Go netpoller's lazy start
	{nr: unix.SYS_EPOLL_CREATE1},     // the Go netpoller's lazy start
	{nr: unix.SYS_FUTEX},             // the Go runtime from here on
	{nr: unix.SYS_MUNMAP},            //
	{nr: unix.SYS_MADVISE},           //
	{nr: unix.SYS_RT_SIGACTION},      //
	{nr: unix.SYS_RT_SIGPROCMASK},    //
	{nr: unix.SYS_RT_SIGRETURN},      //
	{nr: unix.SYS_SCHED_YIELD},       //
	{nr: unix.SYS_NANOSLEEP},         // usleep
	{nr: unix.SYS_GETPID},            //
	{nr: unix.SYS_EXIT},              // a thread ending
	{nr: unix.SYS_SIGALTSTACK},       // every new thread
	{nr: unix.SYS_GETTID},            // every new thread
	{nr: unix.SYS_RESTART_SYSCALL},   // a nanosleep or futex a signal interrupted
	{nr: unix.SYS_CLOCK_GETTIME},     // when the vDSO is unavailable
	{nr: unix.SYS_EXIT_GROUP},        //
	{nr: unix.SYS_SCHED_GETAFFINITY}, // the runtime re-reads its CPU count
	// Memory is never made executable: the Go runtime maps data only.
	{nr: unix.SYS_MMAP, arg: 2, clear: unix.PROT_EXEC},
	{nr: unix.SYS_MPROTECT, arg: 2, clear: unix.PROT_EXEC},
	// Threads only: fork (clone without CLONE_THREAD) is refused; clone3
	// is not allowed at all, since its flags are behind a pointer.
	{nr: unix.SYS_CLONE, arg: 0, set: unix.CLONE_THREAD},
	// Signals only to this process (preemption, crashes).
	{nr: unix.SYS_KILL, arg: 0, eqSelf: true},
	{nr: unix.SYS_TGKILL, arg: 0, eqSelf: true},
	// A new thread setting its TLS.
	{nr: unix.SYS_ARCH_PRCTL, arg: 0, eq: archSetFS},
	// The runtime names its anonymous mappings (PR_SET_VMA).
	{nr: unix.SYS_PRCTL, arg: 0, eq: unix.PR_SET_VMA},
}
