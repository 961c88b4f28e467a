// clock_gettime: REALTIME, MONOTONIC, MONOTONIC_RAW, BOOTTIME and the
// coarse clocks never go backwards and have tv_nsec in range; BOOTTIME >=
// MONOTONIC; REALTIME is after 2020; process and thread CPU clocks advance
// while spinning (and the process one is at least the thread one here); the
// vDSO/libc path and the raw syscall agree; a bad clock id -> EINVAL, a bad
// pointer -> EFAULT.
//
//go:build ignore

#include "time_check.h"

int main(void) {
	clockid_t clocks[] = {CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_MONOTONIC_RAW, CLOCK_BOOTTIME,
			      CLOCK_REALTIME_COARSE, CLOCK_MONOTONIC_COARSE};
	for (unsigned i = 0; i < sizeof clocks / sizeof clocks[0]; i++) {
		long long prev = now_ns(clocks[i]);
		for (int j = 0; j < 1000; j++) {
			long long t = now_ns(clocks[i]);
			if (t < prev)
				FAIL("clock %d went backwards: %lld -> %lld", (int)clocks[i], prev, t);
			prev = t;
		}
		struct timespec raw;
		CHECK_EQ(syscall(SYS_clock_gettime, clocks[i], &raw), 0);
		if (ts_ns(raw) < prev)
			FAIL("clock %d: raw syscall %lld is before libc %lld", (int)clocks[i], ts_ns(raw), prev);
	}
	long long mono = now_ns(CLOCK_MONOTONIC);
	long long boot = now_ns(CLOCK_BOOTTIME);
	CHECK(boot >= mono);
	CHECK(now_ns(CLOCK_REALTIME) / 1000000000LL > 1577836800LL); // 2020-01-01

	// Monotonic time advances across a spin.
	long long m0 = now_ns(CLOCK_MONOTONIC);
	long long p0 = now_ns(CLOCK_PROCESS_CPUTIME_ID);
	long long t0 = now_ns(CLOCK_THREAD_CPUTIME_ID);
	CHECK(p0 >= 0 && t0 >= 0);
	volatile unsigned long sink = 0;
	while (now_ns(CLOCK_PROCESS_CPUTIME_ID) - p0 < 20000000LL) { // 20 ms of CPU
		for (int i = 0; i < 100000; i++)
			sink += i;
		if (now_ns(CLOCK_MONOTONIC) - m0 > 20000000000LL)
			FAIL("process CPU clock did not advance 20 ms in 20 s of spinning");
	}
	long long t1 = now_ns(CLOCK_THREAD_CPUTIME_ID);
	long long p1 = now_ns(CLOCK_PROCESS_CPUTIME_ID);
	long long m1 = now_ns(CLOCK_MONOTONIC);
	CHECK(t1 - t0 >= 10000000LL);
	CHECK(p1 >= t1);
	CHECK(m1 - m0 >= 10000000LL); // wall time passed too
	struct timespec ts;
	CHECK_EQ(clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts), 0);
	CHECK_EQ(syscall(SYS_clock_gettime, CLOCK_THREAD_CPUTIME_ID, &ts), 0);

	CHECK_ERR(syscall(SYS_clock_gettime, 100, &ts), EINVAL);
	CHECK_ERR(syscall(SYS_clock_gettime, 12, &ts), EINVAL); // between TAI(11) and MAX
	CHECK_ERR(syscall(SYS_clock_gettime, CLOCK_MONOTONIC, bad_addr()), EFAULT);
	return 0;
}
