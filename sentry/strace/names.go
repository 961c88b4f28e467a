package strace

import "golang.org/x/sys/unix"

// Flag sets: multi-bit patterns come before the bits they contain.

// oLargefile is the kernel's O_LARGEFILE (x/sys has 0, as 64-bit libcs do).
const oLargefile = 0x8000

var openFlags = []flag{
	{unix.O_CREAT, "O_CREAT"},
	{unix.O_EXCL, "O_EXCL"},
	{unix.O_NOCTTY, "O_NOCTTY"},
	{unix.O_TRUNC, "O_TRUNC"},
	{unix.O_APPEND, "O_APPEND"},
	{unix.O_NONBLOCK, "O_NONBLOCK"},
	{unix.O_SYNC, "O_SYNC"}, // __O_SYNC|O_DSYNC
	{unix.O_DSYNC, "O_DSYNC"},
	{unix.O_ASYNC, "O_ASYNC"},
	{unix.O_DIRECT, "O_DIRECT"},
	{oLargefile, "O_LARGEFILE"},
	{unix.O_TMPFILE, "O_TMPFILE"}, // __O_TMPFILE|O_DIRECTORY
	{unix.O_DIRECTORY, "O_DIRECTORY"},
	{unix.O_NOFOLLOW, "O_NOFOLLOW"},
	{unix.O_NOATIME, "O_NOATIME"},
	{unix.O_CLOEXEC, "O_CLOEXEC"},
	{unix.O_PATH, "O_PATH"},
}

// fdOpenFlags are the open flags pipe2 and dup3 take.
var fdOpenFlags = []flag{
	{unix.O_NONBLOCK, "O_NONBLOCK"},
	{unix.O_DIRECT, "O_DIRECT"},
	{unix.O_CLOEXEC, "O_CLOEXEC"},
	{0x80, "O_NOTIFICATION_PIPE"},
}

var fdFlags = []flag{{unix.FD_CLOEXEC, "FD_CLOEXEC"}}

var fileTypes = map[uint64]string{
	unix.S_IFSOCK: "S_IFSOCK",
	unix.S_IFLNK:  "S_IFLNK",
	unix.S_IFREG:  "S_IFREG",
	unix.S_IFBLK:  "S_IFBLK",
	unix.S_IFDIR:  "S_IFDIR",
	unix.S_IFCHR:  "S_IFCHR",
	unix.S_IFIFO:  "S_IFIFO",
}

var protFlags = []flag{
	{unix.PROT_READ, "PROT_READ"},
	{unix.PROT_WRITE, "PROT_WRITE"},
	{unix.PROT_EXEC, "PROT_EXEC"},
	{0x8, "PROT_SEM"},
	{unix.PROT_GROWSDOWN, "PROT_GROWSDOWN"},
	{unix.PROT_GROWSUP, "PROT_GROWSUP"},
}

var mmapFlags = []flag{
	{unix.MAP_FIXED, "MAP_FIXED"},
	{unix.MAP_ANONYMOUS, "MAP_ANONYMOUS"},
	{unix.MAP_32BIT, "MAP_32BIT"},
	{unix.MAP_GROWSDOWN, "MAP_GROWSDOWN"},
	{unix.MAP_DENYWRITE, "MAP_DENYWRITE"},
	{unix.MAP_EXECUTABLE, "MAP_EXECUTABLE"},
	{unix.MAP_LOCKED, "MAP_LOCKED"},
	{unix.MAP_NORESERVE, "MAP_NORESERVE"},
	{unix.MAP_POPULATE, "MAP_POPULATE"},
	{unix.MAP_NONBLOCK, "MAP_NONBLOCK"},
	{unix.MAP_STACK, "MAP_STACK"},
	{unix.MAP_HUGETLB, "MAP_HUGETLB"},
	{unix.MAP_SYNC, "MAP_SYNC"},
	{unix.MAP_FIXED_NOREPLACE, "MAP_FIXED_NOREPLACE"},
	{0x4000000, "MAP_UNINITIALIZED"},
}

var mremapFlags = []flag{
	{unix.MREMAP_MAYMOVE, "MREMAP_MAYMOVE"},
	{unix.MREMAP_FIXED, "MREMAP_FIXED"},
	{unix.MREMAP_DONTUNMAP, "MREMAP_DONTUNMAP"},
}

var msyncFlags = []flag{
	{unix.MS_ASYNC, "MS_ASYNC"},
	{unix.MS_INVALIDATE, "MS_INVALIDATE"},
	{unix.MS_SYNC, "MS_SYNC"},
}

var madvNames = map[uint64]string{
	unix.MADV_NORMAL:      "MADV_NORMAL",
	unix.MADV_RANDOM:      "MADV_RANDOM",
	unix.MADV_SEQUENTIAL:  "MADV_SEQUENTIAL",
	unix.MADV_WILLNEED:    "MADV_WILLNEED",
	unix.MADV_DONTNEED:    "MADV_DONTNEED",
	unix.MADV_FREE:        "MADV_FREE",
	unix.MADV_REMOVE:      "MADV_REMOVE",
	unix.MADV_DONTFORK:    "MADV_DONTFORK",
	unix.MADV_DOFORK:      "MADV_DOFORK",
	unix.MADV_MERGEABLE:   "MADV_MERGEABLE",
	unix.MADV_UNMERGEABLE: "MADV_UNMERGEABLE",
	unix.MADV_HUGEPAGE:    "MADV_HUGEPAGE",
	unix.MADV_NOHUGEPAGE:  "MADV_NOHUGEPAGE",
	unix.MADV_DONTDUMP:    "MADV_DONTDUMP",
	unix.MADV_DODUMP:      "MADV_DODUMP",
	unix.MADV_WIPEONFORK:  "MADV_WIPEONFORK",
	unix.MADV_KEEPONFORK:  "MADV_KEEPONFORK",
	unix.MADV_COLD:        "MADV_COLD",
	unix.MADV_PAGEOUT:     "MADV_PAGEOUT",
	22:                    "MADV_POPULATE_READ",
	23:                    "MADV_POPULATE_WRITE",
	24:                    "MADV_DONTNEED_LOCKED",
	25:                    "MADV_COLLAPSE",
	unix.MADV_HWPOISON:    "MADV_HWPOISON",
	101:                   "MADV_SOFT_OFFLINE",
	102:                   "MADV_GUARD_INSTALL",
	103:                   "MADV_GUARD_REMOVE",
}

// signalNames holds the standard signals without their "SIG" prefix.
var signalNames = [...]string{
	1: "HUP", 2: "INT", 3: "QUIT", 4: "ILL", 5: "TRAP", 6: "ABRT", 7: "BUS",
	8: "FPE", 9: "KILL", 10: "USR1", 11: "SEGV", 12: "USR2", 13: "PIPE",
	14: "ALRM", 15: "TERM", 16: "STKFLT", 17: "CHLD", 18: "CONT", 19: "STOP",
	20: "TSTP", 21: "TTIN", 22: "TTOU", 23: "URG", 24: "XCPU", 25: "XFSZ",
	26: "VTALRM", 27: "PROF", 28: "WINCH", 29: "IO", 30: "PWR", 31: "SYS",
}

var sigHowNames = map[uint64]string{
	unix.SIG_BLOCK:   "SIG_BLOCK",
	unix.SIG_UNBLOCK: "SIG_UNBLOCK",
	unix.SIG_SETMASK: "SIG_SETMASK",
}

const saRestorer = 0x04000000

var saFlags = []flag{
	{0x1, "SA_NOCLDSTOP"},
	{0x2, "SA_NOCLDWAIT"},
	{0x4, "SA_SIGINFO"},
	{0x400, "SA_UNSUPPORTED"},
	{0x800, "SA_EXPOSE_TAGBITS"},
	{saRestorer, "SA_RESTORER"},
	{0x08000000, "SA_ONSTACK"},
	{0x10000000, "SA_RESTART"},
	{0x40000000, "SA_NODEFER"},
	{0x80000000, "SA_RESETHAND"},
}

var whenceNames = map[uint64]string{
	unix.SEEK_SET:  "SEEK_SET",
	unix.SEEK_CUR:  "SEEK_CUR",
	unix.SEEK_END:  "SEEK_END",
	unix.SEEK_DATA: "SEEK_DATA",
	unix.SEEK_HOLE: "SEEK_HOLE",
}

var clockNames = map[uint64]string{
	unix.CLOCK_REALTIME:           "CLOCK_REALTIME",
	unix.CLOCK_MONOTONIC:          "CLOCK_MONOTONIC",
	unix.CLOCK_PROCESS_CPUTIME_ID: "CLOCK_PROCESS_CPUTIME_ID",
	unix.CLOCK_THREAD_CPUTIME_ID:  "CLOCK_THREAD_CPUTIME_ID",
	unix.CLOCK_MONOTONIC_RAW:      "CLOCK_MONOTONIC_RAW",
	unix.CLOCK_REALTIME_COARSE:    "CLOCK_REALTIME_COARSE",
	unix.CLOCK_MONOTONIC_COARSE:   "CLOCK_MONOTONIC_COARSE",
	unix.CLOCK_BOOTTIME:           "CLOCK_BOOTTIME",
	unix.CLOCK_REALTIME_ALARM:     "CLOCK_REALTIME_ALARM",
	unix.CLOCK_BOOTTIME_ALARM:     "CLOCK_BOOTTIME_ALARM",
	unix.CLOCK_TAI:                "CLOCK_TAI",
}

var fcntlNames = map[uint64]string{
	unix.F_DUPFD:            "F_DUPFD",
	unix.F_GETFD:            "F_GETFD",
	unix.F_SETFD:            "F_SETFD",
	unix.F_GETFL:            "F_GETFL",
	unix.F_SETFL:            "F_SETFL",
	unix.F_GETLK:            "F_GETLK",
	unix.F_SETLK:            "F_SETLK",
	unix.F_SETLKW:           "F_SETLKW",
	unix.F_SETOWN:           "F_SETOWN",
	unix.F_GETOWN:           "F_GETOWN",
	unix.F_SETSIG:           "F_SETSIG",
	unix.F_GETSIG:           "F_GETSIG",
	unix.F_SETOWN_EX:        "F_SETOWN_EX",
	unix.F_GETOWN_EX:        "F_GETOWN_EX",
	17:                      "F_GETOWNER_UIDS",
	unix.F_OFD_GETLK:        "F_OFD_GETLK",
	unix.F_OFD_SETLK:        "F_OFD_SETLK",
	unix.F_OFD_SETLKW:       "F_OFD_SETLKW",
	unix.F_SETLEASE:         "F_SETLEASE",
	unix.F_GETLEASE:         "F_GETLEASE",
	unix.F_NOTIFY:           "F_NOTIFY",
	1027:                    "F_DUPFD_QUERY",
	1028:                    "F_CREATED_QUERY",
	unix.F_DUPFD_CLOEXEC:    "F_DUPFD_CLOEXEC",
	unix.F_SETPIPE_SZ:       "F_SETPIPE_SZ",
	unix.F_GETPIPE_SZ:       "F_GETPIPE_SZ",
	unix.F_ADD_SEALS:        "F_ADD_SEALS",
	unix.F_GET_SEALS:        "F_GET_SEALS",
	unix.F_GET_RW_HINT:      "F_GET_RW_HINT",
	unix.F_SET_RW_HINT:      "F_SET_RW_HINT",
	unix.F_GET_FILE_RW_HINT: "F_GET_FILE_RW_HINT",
	unix.F_SET_FILE_RW_HINT: "F_SET_FILE_RW_HINT",
}

var ioctlNames = map[uint64]string{
	unix.TCGETS:          "TCGETS",
	unix.TCSETS:          "TCSETS",
	unix.TCSETSW:         "TCSETSW",
	unix.TCSETSF:         "TCSETSF",
	unix.TCGETA:          "TCGETA",
	unix.TCSETA:          "TCSETA",
	unix.TCSETAW:         "TCSETAW",
	unix.TCSETAF:         "TCSETAF",
	unix.TCSBRK:          "TCSBRK",
	unix.TCXONC:          "TCXONC",
	unix.TCFLSH:          "TCFLSH",
	unix.TIOCEXCL:        "TIOCEXCL",
	unix.TIOCNXCL:        "TIOCNXCL",
	unix.TIOCSCTTY:       "TIOCSCTTY",
	unix.TIOCGPGRP:       "TIOCGPGRP",
	unix.TIOCSPGRP:       "TIOCSPGRP",
	unix.TIOCOUTQ:        "TIOCOUTQ",
	unix.TIOCSTI:         "TIOCSTI",
	unix.TIOCGWINSZ:      "TIOCGWINSZ",
	unix.TIOCSWINSZ:      "TIOCSWINSZ",
	unix.TIOCMGET:        "TIOCMGET",
	unix.TIOCMBIS:        "TIOCMBIS",
	unix.TIOCMBIC:        "TIOCMBIC",
	unix.TIOCMSET:        "TIOCMSET",
	unix.TIOCGSOFTCAR:    "TIOCGSOFTCAR",
	unix.TIOCSSOFTCAR:    "TIOCSSOFTCAR",
	0x541b:               "FIONREAD",
	unix.TIOCLINUX:       "TIOCLINUX",
	unix.TIOCCONS:        "TIOCCONS",
	unix.TIOCGSERIAL:     "TIOCGSERIAL",
	unix.TIOCSSERIAL:     "TIOCSSERIAL",
	unix.TIOCPKT:         "TIOCPKT",
	0x5421:               "FIONBIO",
	unix.TIOCNOTTY:       "TIOCNOTTY",
	unix.TIOCSETD:        "TIOCSETD",
	unix.TIOCGETD:        "TIOCGETD",
	unix.TCSBRKP:         "TCSBRKP",
	unix.TIOCSBRK:        "TIOCSBRK",
	unix.TIOCCBRK:        "TIOCCBRK",
	unix.TIOCGSID:        "TIOCGSID",
	unix.TCGETS2:         "TCGETS2",
	unix.TCSETS2:         "TCSETS2",
	unix.TCSETSW2:        "TCSETSW2",
	unix.TCSETSF2:        "TCSETSF2",
	unix.TIOCGRS485:      "TIOCGRS485",
	unix.TIOCSRS485:      "TIOCSRS485",
	unix.TIOCGPTN:        "TIOCGPTN",
	unix.TIOCSPTLCK:      "TIOCSPTLCK",
	unix.TIOCGDEV:        "TIOCGDEV",
	unix.TIOCSIG:         "TIOCSIG",
	unix.TIOCVHANGUP:     "TIOCVHANGUP",
	unix.TIOCGPKT:        "TIOCGPKT",
	unix.TIOCGPTLCK:      "TIOCGPTLCK",
	unix.TIOCGEXCL:       "TIOCGEXCL",
	unix.TIOCGPTPEER:     "TIOCGPTPEER",
	0x5450:               "FIONCLEX",
	0x5451:               "FIOCLEX",
	0x5452:               "FIOASYNC",
	unix.TIOCSERGETLSR:   "TIOCSERGETLSR",
	unix.TIOCGICOUNT:     "TIOCGICOUNT",
	0x5460:               "FIOQSIZE",
	0x8901:               "FIOSETOWN",
	unix.SIOCSPGRP:       "SIOCSPGRP",
	0x8903:               "FIOGETOWN",
	unix.SIOCGPGRP:       "SIOCGPGRP",
	unix.SIOCATMARK:      "SIOCATMARK",
	unix.SIOCGIFNAME:     "SIOCGIFNAME",
	unix.SIOCGIFCONF:     "SIOCGIFCONF",
	unix.SIOCGIFFLAGS:    "SIOCGIFFLAGS",
	unix.SIOCSIFFLAGS:    "SIOCSIFFLAGS",
	unix.SIOCGIFADDR:     "SIOCGIFADDR",
	unix.SIOCGIFNETMASK:  "SIOCGIFNETMASK",
	unix.SIOCGIFMTU:      "SIOCGIFMTU",
	unix.SIOCGIFHWADDR:   "SIOCGIFHWADDR",
	unix.SIOCGIFINDEX:    "SIOCGIFINDEX",
	unix.FS_IOC_GETFLAGS: "FS_IOC_GETFLAGS",
	unix.FS_IOC_SETFLAGS: "FS_IOC_SETFLAGS",
	unix.FICLONE:         "FICLONE",
	unix.FICLONERANGE:    "FICLONERANGE",
	unix.FIDEDUPERANGE:   "FIDEDUPERANGE",
	unix.NS_GET_USERNS:   "NS_GET_USERNS",
	unix.NS_GET_PARENT:   "NS_GET_PARENT",
}

var archPrctlNames = map[uint64]string{
	0x1001: "ARCH_SET_GS",
	0x1002: "ARCH_SET_FS",
	0x1003: "ARCH_GET_FS",
	0x1004: "ARCH_GET_GS",
	0x1011: "ARCH_GET_CPUID",
	0x1012: "ARCH_SET_CPUID",
	0x1021: "ARCH_GET_XCOMP_SUPP",
	0x1022: "ARCH_GET_XCOMP_PERM",
	0x1023: "ARCH_REQ_XCOMP_PERM",
	0x1024: "ARCH_GET_XCOMP_GUEST_PERM",
	0x1025: "ARCH_REQ_XCOMP_GUEST_PERM",
	0x1031: "ARCH_XCOMP_TILECFG",
	0x2001: "ARCH_MAP_VDSO_X32",
	0x2002: "ARCH_MAP_VDSO_32",
	0x2003: "ARCH_MAP_VDSO_64",
	0x4001: "ARCH_GET_UNTAG_MASK",
	0x4002: "ARCH_ENABLE_TAGGED_ADDR",
	0x4003: "ARCH_GET_MAX_TAG_BITS",
	0x4004: "ARCH_FORCE_TAGGED_SVA",
	0x5001: "ARCH_SHSTK_ENABLE",
	0x5002: "ARCH_SHSTK_DISABLE",
	0x5003: "ARCH_SHSTK_LOCK",
	0x5004: "ARCH_SHSTK_UNLOCK",
	0x5005: "ARCH_SHSTK_STATUS",
}

var prctlNames = map[uint64]string{
	unix.PR_SET_PDEATHSIG:              "PR_SET_PDEATHSIG",
	unix.PR_GET_PDEATHSIG:              "PR_GET_PDEATHSIG",
	unix.PR_GET_DUMPABLE:               "PR_GET_DUMPABLE",
	unix.PR_SET_DUMPABLE:               "PR_SET_DUMPABLE",
	unix.PR_GET_UNALIGN:                "PR_GET_UNALIGN",
	unix.PR_SET_UNALIGN:                "PR_SET_UNALIGN",
	unix.PR_GET_KEEPCAPS:               "PR_GET_KEEPCAPS",
	unix.PR_SET_KEEPCAPS:               "PR_SET_KEEPCAPS",
	unix.PR_GET_FPEMU:                  "PR_GET_FPEMU",
	unix.PR_SET_FPEMU:                  "PR_SET_FPEMU",
	unix.PR_GET_FPEXC:                  "PR_GET_FPEXC",
	unix.PR_SET_FPEXC:                  "PR_SET_FPEXC",
	unix.PR_GET_TIMING:                 "PR_GET_TIMING",
	unix.PR_SET_TIMING:                 "PR_SET_TIMING",
	unix.PR_SET_NAME:                   "PR_SET_NAME",
	unix.PR_GET_NAME:                   "PR_GET_NAME",
	unix.PR_GET_ENDIAN:                 "PR_GET_ENDIAN",
	unix.PR_SET_ENDIAN:                 "PR_SET_ENDIAN",
	unix.PR_GET_SECCOMP:                "PR_GET_SECCOMP",
	unix.PR_SET_SECCOMP:                "PR_SET_SECCOMP",
	unix.PR_CAPBSET_READ:               "PR_CAPBSET_READ",
	unix.PR_CAPBSET_DROP:               "PR_CAPBSET_DROP",
	unix.PR_GET_TSC:                    "PR_GET_TSC",
	unix.PR_SET_TSC:                    "PR_SET_TSC",
	unix.PR_GET_SECUREBITS:             "PR_GET_SECUREBITS",
	unix.PR_SET_SECUREBITS:             "PR_SET_SECUREBITS",
	unix.PR_SET_TIMERSLACK:             "PR_SET_TIMERSLACK",
	unix.PR_GET_TIMERSLACK:             "PR_GET_TIMERSLACK",
	unix.PR_TASK_PERF_EVENTS_DISABLE:   "PR_TASK_PERF_EVENTS_DISABLE",
	unix.PR_TASK_PERF_EVENTS_ENABLE:    "PR_TASK_PERF_EVENTS_ENABLE",
	unix.PR_MCE_KILL:                   "PR_MCE_KILL",
	unix.PR_MCE_KILL_GET:               "PR_MCE_KILL_GET",
	unix.PR_SET_MM:                     "PR_SET_MM",
	unix.PR_SET_CHILD_SUBREAPER:        "PR_SET_CHILD_SUBREAPER",
	unix.PR_GET_CHILD_SUBREAPER:        "PR_GET_CHILD_SUBREAPER",
	unix.PR_SET_NO_NEW_PRIVS:           "PR_SET_NO_NEW_PRIVS",
	unix.PR_GET_NO_NEW_PRIVS:           "PR_GET_NO_NEW_PRIVS",
	unix.PR_GET_TID_ADDRESS:            "PR_GET_TID_ADDRESS",
	unix.PR_SET_THP_DISABLE:            "PR_SET_THP_DISABLE",
	unix.PR_GET_THP_DISABLE:            "PR_GET_THP_DISABLE",
	unix.PR_MPX_ENABLE_MANAGEMENT:      "PR_MPX_ENABLE_MANAGEMENT",
	unix.PR_MPX_DISABLE_MANAGEMENT:     "PR_MPX_DISABLE_MANAGEMENT",
	unix.PR_SET_FP_MODE:                "PR_SET_FP_MODE",
	unix.PR_GET_FP_MODE:                "PR_GET_FP_MODE",
	unix.PR_CAP_AMBIENT:                "PR_CAP_AMBIENT",
	unix.PR_SVE_SET_VL:                 "PR_SVE_SET_VL",
	unix.PR_SVE_GET_VL:                 "PR_SVE_GET_VL",
	unix.PR_GET_SPECULATION_CTRL:       "PR_GET_SPECULATION_CTRL",
	unix.PR_SET_SPECULATION_CTRL:       "PR_SET_SPECULATION_CTRL",
	unix.PR_PAC_RESET_KEYS:             "PR_PAC_RESET_KEYS",
	unix.PR_SET_TAGGED_ADDR_CTRL:       "PR_SET_TAGGED_ADDR_CTRL",
	unix.PR_GET_TAGGED_ADDR_CTRL:       "PR_GET_TAGGED_ADDR_CTRL",
	unix.PR_SET_IO_FLUSHER:             "PR_SET_IO_FLUSHER",
	unix.PR_GET_IO_FLUSHER:             "PR_GET_IO_FLUSHER",
	unix.PR_SET_SYSCALL_USER_DISPATCH:  "PR_SET_SYSCALL_USER_DISPATCH",
	unix.PR_PAC_SET_ENABLED_KEYS:       "PR_PAC_SET_ENABLED_KEYS",
	unix.PR_PAC_GET_ENABLED_KEYS:       "PR_PAC_GET_ENABLED_KEYS",
	unix.PR_SCHED_CORE:                 "PR_SCHED_CORE",
	unix.PR_SET_MDWE:                   "PR_SET_MDWE",
	unix.PR_GET_MDWE:                   "PR_GET_MDWE",
	unix.PR_SET_MEMORY_MERGE:           "PR_SET_MEMORY_MERGE",
	unix.PR_GET_MEMORY_MERGE:           "PR_GET_MEMORY_MERGE",
	unix.PR_GET_AUXV:                   "PR_GET_AUXV",
	unix.PR_SET_VMA:                    "PR_SET_VMA",
	unix.PR_SET_PTRACER:                "PR_SET_PTRACER",
	unix.PR_RISCV_V_SET_CONTROL:        "PR_RISCV_V_SET_CONTROL",
	unix.PR_RISCV_V_GET_CONTROL:        "PR_RISCV_V_GET_CONTROL",
	unix.PR_SME_SET_VL:                 "PR_SME_SET_VL",
	unix.PR_SME_GET_VL:                 "PR_SME_GET_VL",
	unix.PR_RISCV_SET_ICACHE_FLUSH_CTX: "PR_RISCV_SET_ICACHE_FLUSH_CTX",
}

var accessFlags = []flag{
	{unix.R_OK, "R_OK"},
	{unix.W_OK, "W_OK"},
	{unix.X_OK, "X_OK"},
}

var atFlags = []flag{
	{unix.AT_SYMLINK_NOFOLLOW, "AT_SYMLINK_NOFOLLOW"},
	{unix.AT_REMOVEDIR, "AT_REMOVEDIR"},
	{unix.AT_SYMLINK_FOLLOW, "AT_SYMLINK_FOLLOW"},
	{unix.AT_NO_AUTOMOUNT, "AT_NO_AUTOMOUNT"},
	{unix.AT_EMPTY_PATH, "AT_EMPTY_PATH"},
	{unix.AT_STATX_FORCE_SYNC, "AT_STATX_FORCE_SYNC"},
	{unix.AT_STATX_DONT_SYNC, "AT_STATX_DONT_SYNC"},
	{unix.AT_RECURSIVE, "AT_RECURSIVE"},
}

// accessAtFlags are faccessat2's: 0x200 means AT_EACCESS there.
var accessAtFlags = []flag{
	{unix.AT_SYMLINK_NOFOLLOW, "AT_SYMLINK_NOFOLLOW"},
	{unix.AT_EACCESS, "AT_EACCESS"},
	{unix.AT_EMPTY_PATH, "AT_EMPTY_PATH"},
}

var statxMask = []flag{
	{unix.STATX_BASIC_STATS, "STATX_BASIC_STATS"},
	{unix.STATX_TYPE, "STATX_TYPE"},
	{unix.STATX_MODE, "STATX_MODE"},
	{unix.STATX_NLINK, "STATX_NLINK"},
	{unix.STATX_UID, "STATX_UID"},
	{unix.STATX_GID, "STATX_GID"},
	{unix.STATX_ATIME, "STATX_ATIME"},
	{unix.STATX_MTIME, "STATX_MTIME"},
	{unix.STATX_CTIME, "STATX_CTIME"},
	{unix.STATX_INO, "STATX_INO"},
	{unix.STATX_SIZE, "STATX_SIZE"},
	{unix.STATX_BLOCKS, "STATX_BLOCKS"},
	{unix.STATX_BTIME, "STATX_BTIME"},
	{unix.STATX_MNT_ID, "STATX_MNT_ID"},
	{unix.STATX_DIOALIGN, "STATX_DIOALIGN"},
	{unix.STATX_MNT_ID_UNIQUE, "STATX_MNT_ID_UNIQUE"},
	{unix.STATX_SUBVOL, "STATX_SUBVOL"},
	{unix.STATX_WRITE_ATOMIC, "STATX_WRITE_ATOMIC"},
}

var renameFlags = []flag{
	{unix.RENAME_NOREPLACE, "RENAME_NOREPLACE"},
	{unix.RENAME_EXCHANGE, "RENAME_EXCHANGE"},
	{unix.RENAME_WHITEOUT, "RENAME_WHITEOUT"},
}

var rlimitNames = map[uint64]string{
	unix.RLIMIT_CPU:        "RLIMIT_CPU",
	unix.RLIMIT_FSIZE:      "RLIMIT_FSIZE",
	unix.RLIMIT_DATA:       "RLIMIT_DATA",
	unix.RLIMIT_STACK:      "RLIMIT_STACK",
	unix.RLIMIT_CORE:       "RLIMIT_CORE",
	unix.RLIMIT_RSS:        "RLIMIT_RSS",
	unix.RLIMIT_NPROC:      "RLIMIT_NPROC",
	unix.RLIMIT_NOFILE:     "RLIMIT_NOFILE",
	unix.RLIMIT_MEMLOCK:    "RLIMIT_MEMLOCK",
	unix.RLIMIT_AS:         "RLIMIT_AS",
	unix.RLIMIT_LOCKS:      "RLIMIT_LOCKS",
	unix.RLIMIT_SIGPENDING: "RLIMIT_SIGPENDING",
	unix.RLIMIT_MSGQUEUE:   "RLIMIT_MSGQUEUE",
	unix.RLIMIT_NICE:       "RLIMIT_NICE",
	unix.RLIMIT_RTPRIO:     "RLIMIT_RTPRIO",
	unix.RLIMIT_RTTIME:     "RLIMIT_RTTIME",
}

var cloneFlags = []flag{
	{unix.CLONE_VM, "CLONE_VM"},
	{unix.CLONE_FS, "CLONE_FS"},
	{unix.CLONE_FILES, "CLONE_FILES"},
	{unix.CLONE_SIGHAND, "CLONE_SIGHAND"},
	{unix.CLONE_PIDFD, "CLONE_PIDFD"},
	{unix.CLONE_PTRACE, "CLONE_PTRACE"},
	{unix.CLONE_VFORK, "CLONE_VFORK"},
	{unix.CLONE_PARENT, "CLONE_PARENT"},
	{unix.CLONE_THREAD, "CLONE_THREAD"},
	{unix.CLONE_NEWNS, "CLONE_NEWNS"},
	{unix.CLONE_SYSVSEM, "CLONE_SYSVSEM"},
	{unix.CLONE_SETTLS, "CLONE_SETTLS"},
	{unix.CLONE_PARENT_SETTID, "CLONE_PARENT_SETTID"},
	{unix.CLONE_CHILD_CLEARTID, "CLONE_CHILD_CLEARTID"},
	{unix.CLONE_DETACHED, "CLONE_DETACHED"},
	{unix.CLONE_UNTRACED, "CLONE_UNTRACED"},
	{unix.CLONE_CHILD_SETTID, "CLONE_CHILD_SETTID"},
	{unix.CLONE_NEWCGROUP, "CLONE_NEWCGROUP"},
	{unix.CLONE_NEWUTS, "CLONE_NEWUTS"},
	{unix.CLONE_NEWIPC, "CLONE_NEWIPC"},
	{unix.CLONE_NEWUSER, "CLONE_NEWUSER"},
	{unix.CLONE_NEWPID, "CLONE_NEWPID"},
	{unix.CLONE_NEWNET, "CLONE_NEWNET"},
	{unix.CLONE_IO, "CLONE_IO"},
	{unix.CLONE_NEWTIME, "CLONE_NEWTIME"},
}

var futexNames = map[uint64]string{
	0:  "FUTEX_WAIT",
	1:  "FUTEX_WAKE",
	2:  "FUTEX_FD",
	3:  "FUTEX_REQUEUE",
	4:  "FUTEX_CMP_REQUEUE",
	5:  "FUTEX_WAKE_OP",
	6:  "FUTEX_LOCK_PI",
	7:  "FUTEX_UNLOCK_PI",
	8:  "FUTEX_TRYLOCK_PI",
	9:  "FUTEX_WAIT_BITSET",
	10: "FUTEX_WAKE_BITSET",
	11: "FUTEX_WAIT_REQUEUE_PI",
	12: "FUTEX_CMP_REQUEUE_PI",
	13: "FUTEX_LOCK_PI2",
}

var afNames = map[uint64]string{
	unix.AF_UNSPEC:    "AF_UNSPEC",
	unix.AF_UNIX:      "AF_UNIX",
	unix.AF_INET:      "AF_INET",
	unix.AF_INET6:     "AF_INET6",
	unix.AF_NETLINK:   "AF_NETLINK",
	unix.AF_PACKET:    "AF_PACKET",
	unix.AF_VSOCK:     "AF_VSOCK",
	unix.AF_ALG:       "AF_ALG",
	unix.AF_KEY:       "AF_KEY",
	unix.AF_BLUETOOTH: "AF_BLUETOOTH",
	unix.AF_CAN:       "AF_CAN",
	unix.AF_XDP:       "AF_XDP",
}

var sockTypeNames = map[uint64]string{
	unix.SOCK_STREAM:    "SOCK_STREAM",
	unix.SOCK_DGRAM:     "SOCK_DGRAM",
	unix.SOCK_RAW:       "SOCK_RAW",
	unix.SOCK_RDM:       "SOCK_RDM",
	unix.SOCK_SEQPACKET: "SOCK_SEQPACKET",
	unix.SOCK_DCCP:      "SOCK_DCCP",
	unix.SOCK_PACKET:    "SOCK_PACKET",
}

var sockFlags = []flag{
	{unix.SOCK_NONBLOCK, "SOCK_NONBLOCK"},
	{unix.SOCK_CLOEXEC, "SOCK_CLOEXEC"},
}

var waitFlags = []flag{
	{unix.WNOHANG, "WNOHANG"},
	{unix.WUNTRACED, "WUNTRACED"}, // WSTOPPED for waitid
	{unix.WEXITED, "WEXITED"},
	{unix.WCONTINUED, "WCONTINUED"},
	{unix.WNOWAIT, "WNOWAIT"},
	{unix.WNOTHREAD, "__WNOTHREAD"},
	{unix.WALL, "__WALL"},
	{unix.WCLONE, "__WCLONE"},
}

var epollOpNames = map[uint64]string{
	unix.EPOLL_CTL_ADD: "EPOLL_CTL_ADD",
	unix.EPOLL_CTL_DEL: "EPOLL_CTL_DEL",
	unix.EPOLL_CTL_MOD: "EPOLL_CTL_MOD",
}

var flockFlags = []flag{
	{unix.LOCK_SH, "LOCK_SH"},
	{unix.LOCK_EX, "LOCK_EX"},
	{unix.LOCK_NB, "LOCK_NB"},
	{unix.LOCK_UN, "LOCK_UN"},
}

var grndFlags = []flag{
	{unix.GRND_NONBLOCK, "GRND_NONBLOCK"},
	{unix.GRND_RANDOM, "GRND_RANDOM"},
	{unix.GRND_INSECURE, "GRND_INSECURE"},
}

var mfdFlags = []flag{
	{unix.MFD_CLOEXEC, "MFD_CLOEXEC"},
	{unix.MFD_ALLOW_SEALING, "MFD_ALLOW_SEALING"},
	{unix.MFD_HUGETLB, "MFD_HUGETLB"},
	{unix.MFD_NOEXEC_SEAL, "MFD_NOEXEC_SEAL"},
	{unix.MFD_EXEC, "MFD_EXEC"},
}
