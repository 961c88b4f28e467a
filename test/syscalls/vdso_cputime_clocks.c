// vdso_cputime_clocks: the CPU-time clocks still work through the vDSO,
// which passes them to the system call: CLOCK_PROCESS_CPUTIME_ID,
// CLOCK_THREAD_CPUTIME_ID and the dynamic ids of clock_getcpuclockid and
// pthread_getcpuclockid read the same accounting as the system call (vDSO
// and system call readings interleaved never go backwards, and burning CPU
// advances them), clock_getres agrees with the system call, and an id
// naming no process, or no clock, fails with -EINVAL from the vDSO function
// and EINVAL from libc.
//
//go:build ignore

#include "vdso_check.h"

static void burn(long long ns) {
	long long end = now_ns(CLOCK_THREAD_CPUTIME_ID) + ns;
	volatile unsigned long x = 0;
	while (now_ns(CLOCK_THREAD_CPUTIME_ID) < end)
		for (int i = 0; i < 10000; i++)
			x += i;
}

static void *thread_main(void *arg) {
	burn(5 * 1000000LL);
	return arg;
}

int main(void) {
	vdso_clock_fn cg = vdso_fn("__vdso_clock_gettime"), res = vdso_fn("__vdso_clock_getres");

	clockid_t proc_dyn, thread_dyn;
	CHECK_EQ(clock_getcpuclockid(getpid(), &proc_dyn), 0);
	CHECK_EQ(pthread_getcpuclockid(pthread_self(), &thread_dyn), 0);
	clockid_t clocks[] = {CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID, proc_dyn, thread_dyn};
	for (unsigned c = 0; c < sizeof clocks / sizeof clocks[0]; c++) {
		long long start = vdso_ns(cg, clocks[c]);
		long long last = start;
		for (int i = 0; i < 200; i++) {
			long long now = i % 2 ? vdso_ns(cg, clocks[c]) : sys_ns(clocks[c]);
			if (now < last)
				FAIL("CPU clock %d went back by %lld ns", (int)clocks[c], last - now);
			last = now;
		}
		burn(20 * 1000000LL);
		long long end = vdso_ns(cg, clocks[c]);
		if (end - start < 10 * 1000000LL)
			FAIL("CPU clock %d advanced %lld ns over 20 ms of work", (int)clocks[c], end - start);

		struct timespec a, b;
		CHECK_EQ(res(clocks[c], &a), 0);
		CHECK_OK(syscall(SYS_clock_getres, clocks[c], &b));
		CHECK(a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec);
	}

	// The process clock counts another thread's work, the thread clock
	// does not.
	long long p0 = vdso_ns(cg, CLOCK_PROCESS_CPUTIME_ID), t0 = vdso_ns(cg, CLOCK_THREAD_CPUTIME_ID);
	pthread_t th;
	CHECK_EQ(pthread_create(&th, NULL, thread_main, NULL), 0);
	CHECK_EQ(pthread_join(th, NULL), 0);
	long long p1 = vdso_ns(cg, CLOCK_PROCESS_CPUTIME_ID), t1 = vdso_ns(cg, CLOCK_THREAD_CPUTIME_ID);
	CHECK(p1 - p0 >= 4 * 1000000LL);
	CHECK(t1 - t0 < p1 - p0);

	// Dynamic ids that name nothing.
	pid_t pid = XFORK();
	if (pid == 0)
		_exit(0);
	WAIT_EXIT(pid, 0);
	clockid_t gone = (~(clockid_t)pid << 3) | 2; // MAKE_PROCESS_CPUCLOCK(pid, CPUCLOCK_SCHED)
	struct timespec ts;
	CHECK_EQ(cg(gone, &ts), -EINVAL);
	CHECK_ERR(clock_gettime(gone, &ts), EINVAL);
	CHECK_EQ(cg(10, &ts), -EINVAL);
	CHECK_EQ(cg(-1, &ts), -EINVAL);
	CHECK_EQ(res(12345, &ts), -EINVAL);
	return 0;
}
