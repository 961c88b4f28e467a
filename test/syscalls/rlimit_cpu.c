// rlimit_cpu: once a process has used RLIMIT_CPU's soft limit of CPU time it
// gets SIGXCPU (here with a handler: si_code SI_KERNEL, after about 1 s of
// CPU); at the hard limit (lowered to the time already used) it is killed by
// SIGKILL. A sleeping process uses no CPU and gets nothing; a loop that
// makes no system call is ended by SIGXCPU's default action.
//
//go:build ignore

#include "task_check.h"

static volatile int xcpu, code;
static volatile long long at_ns;
static void on_xcpu(int sig, siginfo_t *si, void *uc) {
	(void)sig, (void)uc;
	if (!xcpu) {
		code = si->si_code;
		at_ns = now_ns(CLOCK_PROCESS_CPUTIME_ID);
	}
	xcpu++;
}

int main(void) {
	int p[2];
	CHECK_OK(pipe(p));
	pid_t pid = XFORK();
	if (pid == 0) {
		no_core();
		install(SIGXCPU, on_xcpu, 0);
		struct rlimit r = {1, 2};
		CHECK_OK(setrlimit(RLIMIT_CPU, &r));
		msleep(100); // sleeping costs nothing
		if (xcpu)
			_exit(3);
		volatile unsigned long x = 0;
		while (!xcpu)
			if (++x % 1024 == 0 && now_ns(CLOCK_PROCESS_CPUTIME_ID) > 5000 * 1000000LL)
				_exit(4); // no SIGXCPU after 5 s of CPU
		int res[2] = {code, (int)(at_ns / 1000000)};
		CHECK_EQ(write(p[1], res, sizeof res), sizeof res);
		// Lower the hard limit to what has been used: killed at once.
		r.rlim_max = 1;
		CHECK_OK(setrlimit(RLIMIT_CPU, &r));
		for (;;)
			if (++x % 1024 == 0 && now_ns(CLOCK_PROCESS_CPUTIME_ID) > 5000 * 1000000LL)
				_exit(5); // no SIGKILL after 5 s of CPU
	}
	close(p[1]);
	int res[2];
	CHECK_EQ(read(p[0], res, sizeof res), sizeof res);
	CHECK_EQ(res[0], SI_KERNEL);
	// About 1 s of CPU: Linux charges whole ticks, which under load can
	// overstate the precise CPU clock by a lot, hence the slack below.
	CHECK(res[1] >= 300);
	CHECK(res[1] < 1500);
	WAIT_KILLED(pid, SIGKILL);

	// A loop that never enters the kernel is held to the limit too:
	// SIGXCPU's default action ends it.
	pid = XFORK();
	if (pid == 0) {
		no_core();
		struct rlimit r = {1, RLIM_INFINITY};
		CHECK_OK(setrlimit(RLIMIT_CPU, &r));
		alarm(20);
		for (volatile unsigned long x = 0;; x++)
			;
	}
	WAIT_KILLED(pid, SIGXCPU);
	return 0;
}
