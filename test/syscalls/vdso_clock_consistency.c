// vdso_clock_consistency: the vDSO's clocks are the system call's clocks.
// Readings through __vdso_clock_gettime and syscall(SYS_clock_gettime)
// interleaved never go backwards, for every clock the vDSO serves
// (REALTIME, MONOTONIC, MONOTONIC_RAW, REALTIME_COARSE, MONOTONIC_COARSE,
// BOOTTIME, TAI); gettimeofday (vDSO and system call) interleaved with
// CLOCK_REALTIME never goes backwards at microsecond resolution, nor time
// (both ways) with CLOCK_REALTIME_COARSE at second resolution; and the
// kernel's sleeps agree with the vDSO's clock: clock_nanosleep(TIMER_ABSTIME,
// t) never returns with the vDSO clock still before t, and a relative sleep
// lasts at least as long by the vDSO clock.
//
//go:build ignore

#include "vdso_check.h"
#include <sys/time.h>

int main(void) {
	vdso_clock_fn cg = vdso_fn("__vdso_clock_gettime");
	vdso_tod_fn tod = vdso_fn("__vdso_gettimeofday");
	vdso_time_fn tm = vdso_fn("__vdso_time");

	clockid_t clocks[] = {CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_MONOTONIC_RAW, CLOCK_REALTIME_COARSE,
			      CLOCK_MONOTONIC_COARSE, CLOCK_BOOTTIME, CLOCK_TAI};
	for (unsigned c = 0; c < sizeof clocks / sizeof clocks[0]; c++) {
		long long last = 0;
		for (int i = 0; i < 3000; i++) {
			// vDSO, system call, libc (which uses the vDSO), in
			// turn.
			long long now = i % 3 == 0 ? vdso_ns(cg, clocks[c]) : i % 3 == 1 ? sys_ns(clocks[c]) : now_ns(clocks[c]);
			if (now < last)
				FAIL("clock %d went back by %lld ns at reading %d", (int)clocks[c], last - now, i);
			last = now;
		}
	}

	// gettimeofday is CLOCK_REALTIME in microseconds.
	long long last = 0;
	for (int i = 0; i < 3000; i++) {
		long long us;
		struct timeval tv;
		switch (i % 4) {
		case 0:
			CHECK_EQ(tod(&tv, NULL), 0);
			us = (long long)tv.tv_sec * 1000000 + tv.tv_usec;
			break;
		case 1:
			CHECK_OK(syscall(SYS_gettimeofday, &tv, NULL));
			us = (long long)tv.tv_sec * 1000000 + tv.tv_usec;
			break;
		case 2:
			us = vdso_ns(cg, CLOCK_REALTIME) / 1000;
			break;
		default:
			us = sys_ns(CLOCK_REALTIME) / 1000;
		}
		if (us < last)
			FAIL("gettimeofday/CLOCK_REALTIME went back by %lld us at reading %d", last - us, i);
		last = us;
	}
	// With a time zone, gettimeofday still answers (through the system
	// call) and agrees with the clock.
	struct timeval tv;
	struct timezone tz;
	long long before = sys_ns(CLOCK_REALTIME) / 1000;
	CHECK_EQ(tod(&tv, &tz), 0);
	long long us = (long long)tv.tv_sec * 1000000 + tv.tv_usec;
	CHECK(before <= us && us <= sys_ns(CLOCK_REALTIME) / 1000);

	// time is the coarse realtime clock's seconds, whichever way it is
	// read; the precise clock is never behind it.
	last = 0;
	for (int i = 0; i < 3000; i++) {
		long long s;
		long t;
		switch (i % 4) {
		case 0:
			s = tm(&t);
			CHECK_EQ(s, t);
			break;
		case 1:
			s = syscall(SYS_time, NULL);
			break;
		case 2:
			s = vdso_ns(cg, CLOCK_REALTIME_COARSE) / 1000000000LL;
			break;
		default:
			s = sys_ns(CLOCK_REALTIME_COARSE) / 1000000000LL;
		}
		if (s < last)
			FAIL("time/CLOCK_REALTIME_COARSE went back at reading %d (%lld after %lld)", i, s, last);
		last = s;
		CHECK(s <= vdso_ns(cg, CLOCK_REALTIME) / 1000000000LL);
	}

	// Sleeps end by the vDSO's clock too.
	clockid_t sleepers[] = {CLOCK_MONOTONIC, CLOCK_REALTIME, CLOCK_BOOTTIME, CLOCK_TAI};
	for (unsigned c = 0; c < sizeof sleepers / sizeof sleepers[0]; c++) {
		for (int i = 0; i < 4; i++) {
			long long deadline = vdso_ns(cg, sleepers[c]) + (i + 1) * 1500000LL;
			struct timespec t = {deadline / 1000000000LL, deadline % 1000000000LL};
			CHECK_EQ(clock_nanosleep(sleepers[c], TIMER_ABSTIME, &t, NULL), 0);
			long long now = vdso_ns(cg, sleepers[c]);
			if (now < deadline)
				FAIL("clock %d: absolute sleep returned %lld ns before its deadline", (int)sleepers[c], deadline - now);
		}
	}
	for (int i = 0; i < 4; i++) {
		long long d = (i + 1) * 1500000LL;
		struct timespec t = {0, d};
		long long start = vdso_ns(cg, CLOCK_MONOTONIC);
		CHECK_EQ(clock_nanosleep(CLOCK_MONOTONIC, 0, &t, NULL), 0);
		long long slept = vdso_ns(cg, CLOCK_MONOTONIC) - start;
		if (slept < d)
			FAIL("a %lld ns sleep lasted %lld ns by the vDSO clock", d, slept);
	}
	return 0;
}
