// times_rusage: times() and getrusage agree with the CPU clocks: our user
// time grows with work; a child's CPU time appears in tms_cutime and
// RUSAGE_CHILDREN only once it has been reaped (and never in RUSAGE_SELF);
// RUSAGE_THREAD is at most RUSAGE_SELF; times returns clock ticks that
// advance with real time; a bad who is EINVAL.
//
//go:build ignore

#include "task_check.h"
#include <sys/times.h>

static long long tv_us(struct timeval t) { return t.tv_sec * 1000000LL + t.tv_usec; }
static long long cpu_us(struct rusage *r) { return tv_us(r->ru_utime) + tv_us(r->ru_stime); }

static void spin(long long ns) {
	long long end = now_ns(CLOCK_PROCESS_CPUTIME_ID) + ns;
	volatile unsigned long x = 0;
	while (now_ns(CLOCK_PROCESS_CPUTIME_ID) < end)
		x++;
}

int main(void) {
	long hz = sysconf(_SC_CLK_TCK);
	CHECK(hz > 0);
	struct tms a, b;
	clock_t r0 = times(&a);
	struct rusage s0, s1, th, c0, c1;
	CHECK_OK(getrusage(RUSAGE_SELF, &s0));
	spin(100 * 1000000LL);
	clock_t r1 = times(&b);
	CHECK_OK(getrusage(RUSAGE_THREAD, &th)); // first: the thread's part
	CHECK_OK(getrusage(RUSAGE_SELF, &s1));   // then the whole, a moment later
	CHECK(r1 - r0 >= hz / 20); // 100 ms of real time is >= 5 ticks at 100 Hz
	CHECK((b.tms_utime + b.tms_stime) - (a.tms_utime + a.tms_stime) >= hz / 20);
	CHECK(cpu_us(&s1) - cpu_us(&s0) >= 90000);
	CHECK(cpu_us(&th) <= cpu_us(&s1));
	CHECK(s1.ru_maxrss > 0);
	CHECK_EQ(b.tms_cutime, 0);

	CHECK_OK(getrusage(RUSAGE_CHILDREN, &c0));
	int p[2];
	CHECK_OK(pipe(p));
	pid_t pid = XFORK();
	if (pid == 0) {
		spin(150 * 1000000LL);
		CHECK_EQ(write(p[1], "d", 1), 1);
		_exit(0);
	}
	char c;
	CHECK_EQ(read(p[0], &c, 1), 1);
	msleep(20); // exited, not reaped
	CHECK_OK(getrusage(RUSAGE_CHILDREN, &c1));
	CHECK(cpu_us(&c1) - cpu_us(&c0) < 50000);
	WAIT_EXIT(pid, 0);
	CHECK_OK(getrusage(RUSAGE_CHILDREN, &c1));
	CHECK(cpu_us(&c1) - cpu_us(&c0) >= 140000);
	struct tms d;
	times(&d);
	CHECK(d.tms_cutime + d.tms_cstime >= hz / 10);
	CHECK_OK(getrusage(RUSAGE_SELF, &s0));
	CHECK(cpu_us(&s0) - cpu_us(&s1) < 100000); // the child's time is not ours

	CHECK_ERR(getrusage(42, &s0), EINVAL);
	return 0;
}
