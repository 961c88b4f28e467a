// syscall_storm: makes thousands of system calls with hostile arguments
// (bad pointers, huge sizes, invalid descriptors and flags) from a seeded
// pseudo-random sequence. It checks nothing itself: the sandbox must
// survive it, whatever happens to the program. Never run it natively.
//
//go:build ignore

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

// Calls that are safe to make with any arguments in the sandbox and do
// not end, replace or stop the process by design (no exit, kill, fork,
// exec, pause, wait, sleep).
static const long calls[] = {
	SYS_read, SYS_write, SYS_open, SYS_close, SYS_stat, SYS_fstat, SYS_lstat,
	SYS_poll, SYS_lseek, SYS_mmap, SYS_mprotect, SYS_munmap, SYS_brk,
	SYS_rt_sigaction, SYS_rt_sigprocmask, SYS_ioctl, SYS_pread64,
	SYS_pwrite64, SYS_readv, SYS_writev, SYS_access, SYS_pipe, SYS_select,
	SYS_sched_yield, SYS_mremap, SYS_msync, SYS_mincore, SYS_madvise,
	SYS_dup, SYS_dup2, SYS_getpid, SYS_uname, SYS_fcntl, SYS_getdents64,
	SYS_getcwd, SYS_chdir, SYS_fchdir, SYS_readlink, SYS_umask,
	SYS_gettimeofday, SYS_getrlimit, SYS_getrusage, SYS_sysinfo, SYS_times,
	SYS_getuid, SYS_getgid, SYS_getppid, SYS_getpgrp, SYS_getgroups,
	SYS_sigaltstack, SYS_statfs, SYS_fstatfs, SYS_prctl, SYS_arch_prctl,
	SYS_gettid, SYS_time, SYS_futex, SYS_sched_getaffinity,
	SYS_set_tid_address, SYS_timer_create, SYS_timer_settime,
	SYS_timer_gettime, SYS_timer_delete, SYS_clock_gettime,
	SYS_clock_getres, SYS_epoll_create1, SYS_epoll_ctl, SYS_epoll_wait,
	SYS_openat, SYS_newfstatat, SYS_readlinkat, SYS_faccessat,
	SYS_set_robust_list, SYS_eventfd2, SYS_dup3, SYS_pipe2, SYS_preadv,
	SYS_pwritev, SYS_prlimit64, SYS_getrandom, SYS_statx, SYS_capget,
	SYS_rt_sigpending, SYS_getitimer,
	SYS_close_range, SYS_faccessat2, SYS_sched_getparam, SYS_getpriority,
	SYS_personality, SYS_getcpu, SYS_rt_sigqueueinfo,
	SYS_pidfd_open, SYS_sched_setaffinity, SYS_getxattr, SYS_listxattr,
	SYS_mkdir, SYS_unlink, SYS_rmdir, SYS_creat, SYS_truncate, 1000,
};

static uint64_t state;
static uint64_t next(void) {
	state ^= state << 13;
	state ^= state >> 7;
	state ^= state << 17;
	return state;
}

static char buf[65536];
static char *scratch;
static const unsigned long scratch_len = 64 << 20;

static struct timespec started;

// tick interrupts blocking calls and bounds the storm's run time: a call
// with a huge size (a write of gigabytes to /dev/null) may legitimately
// take long, and the test is about the sandbox surviving, not speed.
static void tick(int sig) {
	(void)sig;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (now.tv_sec - started.tv_sec > 20)
		_exit(0);
}

static long arg(void) {
	switch (next() % 12) {
	case 0: return 0;
	case 1: return -1;
	case 2: return next() % 64;                 // small numbers, descriptors
	case 3: return (long)buf;                   // a valid buffer
	case 4: return (long)buf + next() % sizeof buf;
	case 5: return (long)(next() & 0x7fffffffffffULL); // a random user address
	case 6: return (long)0xffffffffff600000ULL; // vsyscall / kernel addresses
	case 7: return (long)next();                // anything
	case 8: return 1L << (next() % 63);         // a flag bit
	case 9: return 4096 * (long)(next() % 1024);
	case 10: return (long)"/etc/passwd";
	default: return (long)"/proc/self/status";
	}
}

int main(int argc, char **argv) {
	clock_gettime(CLOCK_MONOTONIC, &started);
	state = argc > 1 ? strtoull(argv[1], NULL, 0) : 1;
	long n = argc > 2 ? atol(argv[2]) : 20000;
	// Handle the signals the calls may raise so the storm goes on, and
	// interrupt every 10 ms whatever call blocks (a read of an empty pipe,
	// a futex wait), as a handler without SA_RESTART does.
	signal(SIGPIPE, SIG_IGN);
	signal(SIGXFSZ, SIG_IGN);
	scratch = mmap(NULL, scratch_len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = tick;
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = {{0, 10000}, {0, 10000}};
	setitimer(ITIMER_REAL, &it, NULL);
	for (long i = 0; i < n; i++) {
		long nr = calls[next() % (sizeof calls / sizeof calls[0])];
		long a[6];
		for (int j = 0; j < 6; j++)
			a[j] = arg();
		if (nr == SYS_rt_sigaction && (a[0] == SIGALRM || a[0] == SIGPIPE || a[0] == SIGXFSZ))
			a[1] = 0; // keep the handlers above
		if (nr == SYS_timer_create && a[1] != 0)
			a[1] = 0; // a timer's default signal is SIGALRM: harmless
		// Memory calls get addresses in a scratch area, so the storm does
		// not unmap or protect its own code and stack (and end early).
		if (nr == SYS_munmap || nr == SYS_mprotect || nr == SYS_mremap || nr == SYS_madvise ||
		    nr == SYS_mincore || nr == SYS_msync)
			a[0] = (long)scratch + (long)(next() % (scratch_len / 4096)) * 4096;
		if (nr == SYS_mremap)
			a[4] = (long)scratch + (long)(next() % (scratch_len / 4096)) * 4096;
		if (nr == SYS_mmap && (a[3] & MAP_FIXED))
			a[0] = (long)scratch + (long)(next() % (scratch_len / 4096)) * 4096;
		if (nr == SYS_brk)
			a[0] = 0;
		if (nr == SYS_arch_prctl)
			a[0] = 0x1003; // ARCH_GET_FS: setting FS would lose the TLS
		if (nr == SYS_prctl && a[0] == 22)
			a[0] = 16; // not PR_SET_SECCOMP: strict mode ends the storm
		if (nr == SYS_rt_sigprocmask)
			a[1] = 0; // blocking every signal would hide nothing, but keep masks sane
		syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
	}
	printf("storm %lu done\n", (unsigned long)n);
	return 0;
}
