// clock_getres: every supported clock has a resolution in (0, 10 ms]
// (the coarse ones no finer than the precise ones) with tv_sec 0; a NULL
// result pointer is allowed; a bad clock id -> EINVAL.
//
//go:build ignore

#include "time_check.h"

int main(void) {
	clockid_t clocks[] = {CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_MONOTONIC_RAW, CLOCK_BOOTTIME,
			      CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID,
			      CLOCK_REALTIME_COARSE, CLOCK_MONOTONIC_COARSE};
	for (unsigned i = 0; i < sizeof clocks / sizeof clocks[0]; i++) {
		struct timespec r = {-1, -1}, s = {-1, -1};
		CHECK_EQ(clock_getres(clocks[i], &r), 0);
		CHECK_EQ(syscall(SYS_clock_getres, clocks[i], &s), 0);
		if (r.tv_sec != 0 || r.tv_nsec <= 0 || r.tv_nsec > 10000000L)
			FAIL("clock %d resolution %ld.%09ld", (int)clocks[i], (long)r.tv_sec, r.tv_nsec);
		CHECK_EQ(s.tv_sec, r.tv_sec);
		CHECK_EQ(s.tv_nsec, r.tv_nsec);
		CHECK_EQ(syscall(SYS_clock_getres, clocks[i], NULL), 0);
	}
	struct timespec fine, coarse;
	CHECK_EQ(clock_getres(CLOCK_MONOTONIC, &fine), 0);
	CHECK_EQ(clock_getres(CLOCK_MONOTONIC_COARSE, &coarse), 0);
	CHECK(coarse.tv_nsec >= fine.tv_nsec);

	struct timespec r;
	CHECK_ERR(syscall(SYS_clock_getres, 100, &r), EINVAL);
	CHECK_ERR(syscall(SYS_clock_getres, 12, &r), EINVAL);
	CHECK_ERR(syscall(SYS_clock_getres, CLOCK_MONOTONIC, bad_addr()), EFAULT);
	return 0;
}
