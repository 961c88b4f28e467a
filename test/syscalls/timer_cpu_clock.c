// timer_cpu_clock: POSIX timers on CPU-time clocks count CPU time, not
// wall time: a process-clock timer fires once the process has used its
// value of CPU, a thread-clock timer (SIGEV_THREAD_ID to the thread, as
// the Go runtime's profiler arms them) fires periodically while the thread
// spins, a timer of an idle process does not run down, an absolute
// expiration is a CPU time of the clock, and clock_getcpuclockid's clock
// takes a timer too. ITIMER_PROF, like these timers, fires in a loop that
// never enters the kernel.
//
//go:build ignore

#include "task_check.h"
#include <signal.h>
#include <sys/time.h>
#include <time.h>

#ifndef sigev_notify_thread_id
#define sigev_notify_thread_id _sigev_un._tid
#endif

static volatile sig_atomic_t fired;
static void on_sig(int sig) {
	(void)sig;
	fired++;
}

static long long cpu_ns(clockid_t c) {
	struct timespec ts;
	CHECK_OK(clock_gettime(c, &ts));
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

// spin burns CPU until n signals arrived or 10 s of wall time passed, and
// returns the signals seen.
static int spin(int n) {
	long long end = now_ns(CLOCK_MONOTONIC) + 10000000000LL;
	while (fired < n && now_ns(CLOCK_MONOTONIC) < end)
		;
	return fired;
}

static timer_t make(clockid_t c, int notify) {
	struct sigevent sev = {.sigev_notify = notify, .sigev_signo = SIGUSR1};
	if (notify == SIGEV_THREAD_ID)
		sev.sigev_notify_thread_id = gettid();
	timer_t id;
	CHECK_OK(timer_create(c, &sev, &id));
	return id;
}

static void arm(timer_t id, int flags, long long value_ns, long long interval_ns) {
	struct itimerspec its = {
	    .it_value = {value_ns / 1000000000LL, value_ns % 1000000000LL},
	    .it_interval = {interval_ns / 1000000000LL, interval_ns % 1000000000LL},
	};
	CHECK_OK(timer_settime(id, flags, &its, NULL));
}

int main(void) {
	alarm(60);
	struct sigaction sa = {.sa_handler = on_sig};
	CHECK_OK(sigaction(SIGUSR1, &sa, NULL));

	// A process-clock timer of 50 ms.
	timer_t p = make(CLOCK_PROCESS_CPUTIME_ID, SIGEV_SIGNAL);
	long long start = cpu_ns(CLOCK_PROCESS_CPUTIME_ID);
	arm(p, 0, 50000000, 0);
	CHECK_EQ(spin(1), 1);
	CHECK(cpu_ns(CLOCK_PROCESS_CPUTIME_ID) - start >= 50000000);
	struct itimerspec cur;
	CHECK_OK(timer_gettime(p, &cur));
	CHECK(cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec == 0); // one-shot: spent

	// Idle, it does not run down: 200 ms asleep uses far less than 1 s of CPU.
	arm(p, 0, 1000000000, 0);
	struct timespec nap = {0, 200000000};
	nanosleep(&nap, NULL);
	CHECK_OK(timer_gettime(p, &cur));
	CHECK(cur.it_value.tv_sec * 1000000000LL + cur.it_value.tv_nsec > 500000000);
	CHECK_OK(timer_delete(p));

	// A periodic thread-clock timer, signalling the thread itself.
	fired = 0;
	timer_t th = make(CLOCK_THREAD_CPUTIME_ID, SIGEV_THREAD_ID);
	arm(th, 0, 20000000, 10000000);
	CHECK_EQ(spin(3), 3);
	CHECK(timer_getoverrun(th) >= 0);
	arm(th, 0, 0, 0);
	CHECK_OK(timer_gettime(th, &cur));
	CHECK(cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec == 0);
	CHECK_OK(timer_delete(th));

	// An absolute expiration: 40 ms of CPU from now on the process clock.
	fired = 0;
	clockid_t mine;
	CHECK_EQ(clock_getcpuclockid(getpid(), &mine), 0);
	timer_t a = make(mine, SIGEV_SIGNAL);
	long long at = cpu_ns(CLOCK_PROCESS_CPUTIME_ID) + 40000000;
	arm(a, TIMER_ABSTIME, at, 0);
	CHECK_EQ(spin(1), 1);
	CHECK(cpu_ns(CLOCK_PROCESS_CPUTIME_ID) >= at);
	// An absolute time already past expires at once.
	fired = 0;
	arm(a, TIMER_ABSTIME, 1, 0);
	CHECK_EQ(spin(1), 1);
	CHECK_OK(timer_delete(a));

	// ITIMER_PROF reaches a loop that makes no system call either.
	fired = 0;
	CHECK_OK(sigaction(SIGPROF, &sa, NULL));
	struct itimerval prof = {{0, 0}, {0, 30000}};
	CHECK_OK(setitimer(ITIMER_PROF, &prof, NULL));
	CHECK_EQ(spin(1), 1);
	return 0;
}
