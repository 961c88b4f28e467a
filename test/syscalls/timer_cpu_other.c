// timer_cpu_other: CPU-time clocks of other processes and CPUCLOCK_VIRT.
// A process's clock, named by its ID, can be read and can drive a timer
// of another process: the timer fires once the named process has used its
// value of CPU, while the process that armed it sleeps. A thread clock
// must name a thread of the caller's own process (EINVAL otherwise, for
// reading and for timers); a file descriptor's clock takes no timer
// (EOPNOTSUPP). CPUCLOCK_VIRT counts user time only: it never
// runs ahead of CPUCLOCK_PROF, and a timer on it fires in a loop that
// never enters the kernel.
//
//go:build ignore

#include "task_check.h"
#include <signal.h>
#include <time.h>

#define CPUCLOCK_PROF 0
#define CPUCLOCK_VIRT 1
#define CPUCLOCK_SCHED 2
#define PROCESS_CLOCK(pid, which) ((~(clockid_t)(pid) << 3) | (clockid_t)(which))
#define THREAD_CLOCK(tid, which) PROCESS_CLOCK(tid, (which) | 4)

static long long clock_ns(clockid_t c) {
	struct timespec ts;
	CHECK_OK(clock_gettime(c, &ts));
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static timer_t timer_on(clockid_t c, int sig) {
	struct sigevent ev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = sig};
	timer_t id;
	CHECK_OK(timer_create(c, &ev, &id));
	return id;
}

static void arm(timer_t id, long ms) {
	struct itimerspec its = {.it_value = {ms / 1000, (ms % 1000) * 1000000}};
	CHECK_OK(timer_settime(id, 0, &its, NULL));
}

int main(void) {
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	CHECK_OK(sigprocmask(SIG_BLOCK, &set, NULL));

	// A child that burns CPU until killed.
	pid_t pid = XFORK();
	if (pid == 0) {
		for (;;)
			;
	}
	struct timespec ts;
	CHECK_OK(clock_gettime(PROCESS_CLOCK(pid, CPUCLOCK_SCHED), &ts));
	CHECK_ERR(clock_gettime(THREAD_CLOCK(pid, CPUCLOCK_SCHED), &ts), EINVAL);
	struct sigevent ev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR1};
	timer_t bad;
	CHECK_ERR(timer_create(THREAD_CLOCK(pid, CPUCLOCK_SCHED), &ev, &bad), EINVAL);
	// Type 3 is a file descriptor's clock (CLOCKFD), which takes no timers.
	CHECK_ERR(timer_create(PROCESS_CLOCK(pid, 3), &ev, &bad), EOPNOTSUPP);

	// A timer on the child's clock fires while this process sleeps.
	long long mine0 = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
	timer_t child_timer = timer_on(PROCESS_CLOCK(pid, CPUCLOCK_SCHED), SIGUSR1);
	arm(child_timer, 50);
	struct timespec ten_s = {10, 0};
	siginfo_t si;
	CHECK_EQ(sigtimedwait(&set, &si, &ten_s), SIGUSR1);
	CHECK_EQ(si.si_code, SI_TIMER);
	long long theirs = clock_ns(PROCESS_CLOCK(pid, CPUCLOCK_SCHED));
	CHECK(theirs >= 50 * 1000000LL);
	// It ran on the child's time, not on ours (we slept).
	CHECK(clock_ns(CLOCK_PROCESS_CPUTIME_ID) - mine0 < theirs);
	CHECK_OK(timer_delete(child_timer));
	CHECK_OK(kill(pid, SIGKILL));
	CHECK_EQ(waitpid(pid, NULL, 0), pid);

	// CPUCLOCK_VIRT: user time, never ahead of user + system time.
	clockid_t virt = PROCESS_CLOCK(0, CPUCLOCK_VIRT), prof = PROCESS_CLOCK(0, CPUCLOCK_PROF);
	long long v = clock_ns(virt), p = clock_ns(prof);
	CHECK(v <= p);
	timer_t virt_timer = timer_on(virt, SIGUSR2);
	arm(virt_timer, 30);
	long long end = now_ns(CLOCK_MONOTONIC) + 10000000000LL;
	struct timespec zero = {0, 0};
	int got = -1;
	while (got < 0 && now_ns(CLOCK_MONOTONIC) < end) {
		for (volatile long i = 0; i < 1000000; i++)
			;
		got = sigtimedwait(&set, &si, &zero);
	}
	CHECK_EQ(got, SIGUSR2);
	CHECK(clock_ns(virt) - v >= 30 * 1000000LL);
	CHECK(clock_ns(virt) <= clock_ns(prof));
	CHECK_OK(timer_delete(virt_timer));
	return 0;
}
