// gettimeofday: gettimeofday, time and clock_gettime(CLOCK_REALTIME) agree
// to within a second (in both orders); tv_usec < 1e6; time(&t) stores its
// result; NULL arguments are allowed; a bad pointer -> EFAULT.
//
//go:build ignore

#include "time_check.h"
#include <sys/time.h>

int main(void) {
	for (int i = 0; i < 100; i++) {
		time_t a = time(NULL);
		struct timeval tv;
		CHECK_EQ(gettimeofday(&tv, NULL), 0);
		CHECK(tv.tv_usec >= 0 && tv.tv_usec < 1000000);
		long long rt = now_ns(CLOCK_REALTIME);
		time_t b;
		CHECK_EQ(time(&b), b);
		// Coarse time() may lag the precise clocks by a tick.
		CHECK(tv.tv_sec >= a && tv.tv_sec <= b + 1);
		long long tv_ns = (long long)tv.tv_sec * 1000000000LL + tv.tv_usec * 1000LL;
		CHECK(rt >= tv_ns - 1000); // gettimeofday rounds down to a microsecond
		CHECK(rt - tv_ns < 1000000000LL);
		CHECK(b >= a);
	}
	struct timeval tv;
	CHECK_EQ(syscall(SYS_gettimeofday, &tv, NULL), 0);
	CHECK(tv.tv_sec > 1577836800); // after 2020
	CHECK_EQ(syscall(SYS_gettimeofday, NULL, NULL), 0);
	time_t t = 0;
	long r = syscall(SYS_time, &t);
	CHECK_EQ(r, t);
	CHECK(r >= tv.tv_sec);
	CHECK(syscall(SYS_time, NULL) >= r);
	CHECK_ERR(syscall(SYS_gettimeofday, bad_addr(), NULL), EFAULT);
	return 0;
}
