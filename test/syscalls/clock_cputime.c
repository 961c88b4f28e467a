// clock_cputime: CLOCK_PROCESS_CPUTIME_ID and CLOCK_THREAD_CPUTIME_ID advance
// with work done and hardly with sleeping; the thread clock is per thread (a
// sleeping thread's stays small while another spins), the process clock
// covers all threads; pthread_getcpuclockid reads another thread's clock
// and clock_getcpuclockid another process's.
//
//go:build ignore

#include "task_check.h"

static void spin_cpu(long long ns) {
	long long end = now_ns(CLOCK_THREAD_CPUTIME_ID) + ns;
	volatile unsigned long x = 0;
	while (now_ns(CLOCK_THREAD_CPUTIME_ID) < end)
		x++;
}

static atomic_int phase;
static void *sleeper(void *arg) {
	(void)arg;
	atomic_store(&phase, 1);
	while (atomic_load(&phase) != 2)
		msleep(5);
	return NULL;
}
static void *spinner(void *arg) {
	(void)arg;
	spin_cpu(100 * 1000000LL);
	return NULL;
}

int main(void) {
	long long p0 = now_ns(CLOCK_PROCESS_CPUTIME_ID), t0 = now_ns(CLOCK_THREAD_CPUTIME_ID);
	spin_cpu(50 * 1000000LL);
	long long p1 = now_ns(CLOCK_PROCESS_CPUTIME_ID), t1 = now_ns(CLOCK_THREAD_CPUTIME_ID);
	CHECK(t1 - t0 >= 50 * 1000000LL);
	CHECK(p1 - p0 >= t1 - t0 - 1000000LL);
	msleep(100);
	CHECK(now_ns(CLOCK_THREAD_CPUTIME_ID) - t1 < 30 * 1000000LL); // sleeping is not CPU time

	// Another thread: its clock from outside, and the process total.
	pthread_t s, w;
	CHECK_EQ(pthread_create(&s, NULL, sleeper, NULL), 0);
	while (atomic_load(&phase) != 1)
		msleep(1);
	clockid_t sc;
	CHECK_EQ(pthread_getcpuclockid(s, &sc), 0);
	long long s0 = now_ns(sc);
	long long m0 = now_ns(CLOCK_THREAD_CPUTIME_ID), pp0 = now_ns(CLOCK_PROCESS_CPUTIME_ID);
	CHECK_EQ(pthread_create(&w, NULL, spinner, NULL), 0);
	clockid_t wc;
	CHECK_EQ(pthread_getcpuclockid(w, &wc), 0);
	CHECK_EQ(pthread_join(w, NULL), 0);
	long long m1 = now_ns(CLOCK_THREAD_CPUTIME_ID), pp1 = now_ns(CLOCK_PROCESS_CPUTIME_ID);
	CHECK(pp1 - pp0 >= 100 * 1000000LL);         // the spinner's time counts for the process
	CHECK(m1 - m0 < 50 * 1000000LL);              // but not for us
	CHECK(now_ns(sc) - s0 < 50 * 1000000LL);      // nor for the sleeper
	CHECK(now_ns(sc) >= 0);
	atomic_store(&phase, 2);
	CHECK_EQ(pthread_join(s, NULL), 0);

	// Our own process clock through clock_getcpuclockid; a child's too.
	clockid_t pc;
	CHECK_EQ(clock_getcpuclockid(getpid(), &pc), 0);
	long long a = now_ns(pc), b = now_ns(CLOCK_PROCESS_CPUTIME_ID);
	CHECK(b >= a);
	CHECK(b - a < 20 * 1000000LL);
	int p[2];
	CHECK_OK(pipe(p));
	pid_t pid = XFORK();
	if (pid == 0) {
		spin_cpu(60 * 1000000LL);
		CHECK_EQ(write(p[1], "s", 1), 1);
		pause();
		_exit(0);
	}
	char c;
	CHECK_EQ(read(p[0], &c, 1), 1);
	clockid_t cc;
	CHECK_EQ(clock_getcpuclockid(pid, &cc), 0);
	CHECK(now_ns(cc) >= 60 * 1000000LL);
	CHECK_OK(kill(pid, SIGKILL));
	WAIT_KILLED(pid, SIGKILL);
	return 0;
}
