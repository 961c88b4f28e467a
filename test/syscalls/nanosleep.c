// nanosleep: a 10 ms nanosleep/clock_nanosleep lasts at least 10 ms on
// CLOCK_MONOTONIC (and not absurdly long); a zero sleep returns at once;
// TIMER_ABSTIME sleeps until a deadline and returns at once for a past one;
// tv_nsec out of [0, 1e9) or a negative tv_sec -> EINVAL; a bad clock ->
// EINVAL; the thread CPU clock cannot be slept on (EINVAL/EOPNOTSUPP).
//
//go:build ignore

#include "time_check.h"

int main(void) {
	for (int i = 0; i < 3; i++) {
		long long t0 = now_ns(CLOCK_MONOTONIC);
		struct timespec d = {0, 10000000}, rem = {-1, -1};
		CHECK_EQ(nanosleep(&d, &rem), 0);
		long long el = now_ns(CLOCK_MONOTONIC) - t0;
		if (el < 10000000LL)
			FAIL("nanosleep(10ms) took only %lld ns", el);
		if (el > 5000000000LL)
			FAIL("nanosleep(10ms) took %lld ns", el);
	}
	long long t0 = now_ns(CLOCK_MONOTONIC);
	struct timespec d = {0, 10000000};
	CHECK_EQ(syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, &d, NULL), 0);
	CHECK(now_ns(CLOCK_MONOTONIC) - t0 >= 10000000LL);
	t0 = now_ns(CLOCK_REALTIME);
	CHECK_EQ(syscall(SYS_clock_nanosleep, CLOCK_REALTIME, 0, &d, NULL), 0);
	CHECK(now_ns(CLOCK_REALTIME) - t0 >= 9000000LL); // realtime may be slewed

	struct timespec zero = {0, 0};
	CHECK_EQ(nanosleep(&zero, NULL), 0);

	// Absolute deadline 15 ms from now.
	struct timespec now;
	CHECK_EQ(clock_gettime(CLOCK_MONOTONIC, &now), 0);
	long long deadline = ts_ns(now) + 15000000LL;
	struct timespec abs = {deadline / 1000000000LL, deadline % 1000000000LL};
	CHECK_EQ(syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, TIMER_ABSTIME, &abs, NULL), 0);
	CHECK(now_ns(CLOCK_MONOTONIC) >= deadline);
	// A deadline in the past returns immediately.
	t0 = now_ns(CLOCK_MONOTONIC);
	CHECK_EQ(syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, TIMER_ABSTIME, &now, NULL), 0);
	CHECK(now_ns(CLOCK_MONOTONIC) - t0 < 1000000000LL);

	// Errors (the raw syscall, so errno is set).
	struct timespec bad1 = {0, 1000000000L}, bad2 = {0, -1}, bad3 = {-1, 0};
	CHECK_ERR(syscall(SYS_nanosleep, &bad1, NULL), EINVAL);
	CHECK_ERR(syscall(SYS_nanosleep, &bad2, NULL), EINVAL);
	CHECK_ERR(syscall(SYS_nanosleep, &bad3, NULL), EINVAL);
	CHECK_ERR(syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, &bad1, NULL), EINVAL);
	CHECK_ERR(syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, TIMER_ABSTIME, &bad2, NULL), EINVAL);
	CHECK_ERR(syscall(SYS_clock_nanosleep, 100, 0, &d, NULL), EINVAL);
	errno = 0;
	long r = syscall(SYS_clock_nanosleep, CLOCK_THREAD_CPUTIME_ID, 0, &d, NULL);
	if (r != -1 || (errno != EINVAL && errno != EOPNOTSUPP)) // EOPNOTSUPP since Linux 5.x
		FAIL("clock_nanosleep(CLOCK_THREAD_CPUTIME_ID) (got %ld errno %s want EINVAL or EOPNOTSUPP)", r, errname(errno));
	CHECK_ERR(syscall(SYS_nanosleep, bad_addr(), NULL), EFAULT);
	// The libc wrapper returns the error number instead of setting errno.
	CHECK_EQ(clock_nanosleep(CLOCK_MONOTONIC, 0, &bad1, NULL), EINVAL);
	return 0;
}
