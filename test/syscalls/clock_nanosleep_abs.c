// clock_nanosleep_abs: with TIMER_ABSTIME, clock_nanosleep sleeps until the
// deadline on CLOCK_MONOTONIC or CLOCK_REALTIME (never before it) and returns
// at once for a past one; a handled signal interrupts it with EINTR (the
// relative form then reports the time left, which is less than asked); bad
// clocks and timespecs are EINVAL, a bad pointer EFAULT.
//
//go:build ignore

#include "task_check.h"

static volatile int hits;
static void handler(int sig, siginfo_t *si, void *uc) {
	(void)sig, (void)si, (void)uc;
	hits++;
}

static struct timespec at(long long ns) {
	struct timespec t = {ns / 1000000000LL, ns % 1000000000LL};
	return t;
}

int main(void) {
	clockid_t clocks[] = {CLOCK_MONOTONIC, CLOCK_REALTIME, CLOCK_BOOTTIME};
	for (int i = 0; i < 3; i++) {
		long long dl = now_ns(clocks[i]) + 40 * 1000000LL;
		struct timespec t = at(dl);
		CHECK_EQ(clock_nanosleep(clocks[i], TIMER_ABSTIME, &t, NULL), 0);
		CHECK(now_ns(clocks[i]) >= dl);
	}
	struct timespec past = {1, 0};
	long long t0 = now_ns(CLOCK_MONOTONIC);
	CHECK_EQ(clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &past, NULL), 0);
	CHECK(now_ns(CLOCK_MONOTONIC) - t0 < 500 * 1000000LL);

	struct timespec bad = {0, 1000000000};
	CHECK_ERR(syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, &bad, NULL), EINVAL);
	struct timespec ok = {0, 1000};
	CHECK_ERR(syscall(SYS_clock_nanosleep, 12345, 0, &ok, NULL), EINVAL);
	CHECK_ERR(syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, bad_addr(), NULL), EFAULT);

	// Interrupted by a signal from a child, 50 ms in.
	install(SIGUSR1, handler, SA_RESTART); // SA_RESTART does not apply here
	pid_t parent = getpid();
	for (int absolute = 0; absolute < 2; absolute++) {
		pid_t pid = XFORK();
		if (pid == 0) {
			msleep(50);
			kill(parent, SIGUSR1);
			_exit(0);
		}
		long long start = now_ns(CLOCK_MONOTONIC);
		struct timespec t = absolute ? at(start + 5000 * 1000000LL) : at(5000 * 1000000LL);
		struct timespec rem = {-1, -1};
		CHECK_EQ(clock_nanosleep(CLOCK_MONOTONIC, absolute ? TIMER_ABSTIME : 0, &t, &rem), EINTR);
		CHECK(now_ns(CLOCK_MONOTONIC) - start < 4000 * 1000000LL);
		CHECK_EQ(hits, absolute + 1);
		if (absolute) {
			CHECK_EQ(rem.tv_sec, -1); // untouched
		} else {
			CHECK(ts_ns(rem) > 0);
			CHECK(ts_ns(rem) < 5000 * 1000000LL);
		}
		WAIT_EXIT(pid, 0);
	}
	return 0;
}
