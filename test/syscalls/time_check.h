// time_check.h: timespec helpers for the clock tests.
#ifndef COCOON_TEST_TIME_CHECK_H
#define COCOON_TEST_TIME_CHECK_H

#include "check.h"
#include <time.h>

static inline long long ts_ns(struct timespec t) {
	return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static inline long long now_ns(clockid_t c) {
	struct timespec t;
	if (clock_gettime(c, &t) != 0)
		FAIL("clock_gettime(%d) (errno %d %s)", (int)c, errno, errname(errno));
	if (t.tv_nsec < 0 || t.tv_nsec >= 1000000000L)
		FAIL("clock %d: tv_nsec %ld out of range", (int)c, t.tv_nsec);
	return ts_ns(t);
}

#endif
