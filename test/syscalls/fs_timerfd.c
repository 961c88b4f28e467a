// fs_timerfd: timerfd_settime arms a relative or TFD_TIMER_ABSTIME timer;
// timerfd_gettime reports the remaining time and interval (and the old
// value on re-arm); read returns the 8-byte expiration count (EAGAIN when
// none with TFD_NONBLOCK, EINVAL for a buffer under 8 bytes); poll reports
// readiness on expiry; disarming with zero clears it; bad clocks/flags EINVAL.
//
//go:build ignore

#include "fs_check.h"
#include <sys/timerfd.h>

int main(void) {
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	CHECK(fd >= 0);
	CHECK_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC);
	uint64_t n;
	CHECK_ERR(read(fd, &n, sizeof n), EAGAIN);
	struct itimerspec cur;
	CHECK_OK(timerfd_gettime(fd, &cur));
	CHECK(cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec == 0);

	// One-shot: the remaining time is reported, and returned as the
	// old value when it is re-armed. Two seconds leave room for a
	// loaded machine to stall between the calls; the re-armed 20 ms
	// then fire.
	struct itimerspec its = {.it_value = {2, 0}};
	CHECK_OK(timerfd_settime(fd, 0, &its, NULL));
	CHECK_OK(timerfd_gettime(fd, &cur));
	CHECK(cur.it_interval.tv_sec == 0 && cur.it_interval.tv_nsec == 0);
	CHECK(cur.it_value.tv_sec < 2 || (cur.it_value.tv_sec == 2 && cur.it_value.tv_nsec == 0));
	CHECK(cur.it_value.tv_sec > 0 || cur.it_value.tv_nsec > 0);
	its.it_value = (struct timespec){0, 20000000};
	struct itimerspec was;
	CHECK_OK(timerfd_settime(fd, 0, &its, &was));
	CHECK(was.it_value.tv_sec <= 2 && (was.it_value.tv_sec > 0 || was.it_value.tv_nsec > 0));
	CHECK_EQ(wait_fd(fd, POLLIN, 2000) & POLLIN, POLLIN);
	CHECK_EQ(read(fd, &n, sizeof n), 8);
	CHECK_EQ(n, 1);
	CHECK_ERR(read(fd, &n, sizeof n), EAGAIN);
	CHECK_OK(timerfd_gettime(fd, &cur));
	CHECK(cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec == 0);

	// Periodic 5 ms: after ~30 ms several expirations accumulate.
	struct itimerspec per = {.it_interval = {0, 5000000}, .it_value = {0, 5000000}};
	struct itimerspec old;
	CHECK_OK(timerfd_settime(fd, 0, &per, &old));
	msleep(30);
	CHECK_EQ(read(fd, &n, sizeof n), 8);
	CHECK(n >= 2);
	CHECK_OK(timerfd_gettime(fd, &cur));
	CHECK_EQ(cur.it_interval.tv_nsec, 5000000);
	CHECK_ERR(read(fd, &n, 4), EINVAL);

	// Disarm; the old value is returned.
	struct itimerspec zero = {0};
	CHECK_OK(timerfd_settime(fd, 0, &zero, &old));
	CHECK_EQ(old.it_interval.tv_nsec, 5000000);
	msleep(10);
	CHECK_ERR(read(fd, &n, sizeof n), EAGAIN);

	// Absolute: a time in the past fires at once; one in the future not.
	struct timespec now;
	CHECK_OK(clock_gettime(CLOCK_MONOTONIC, &now));
	struct itimerspec abs = {.it_value = now};
	CHECK_OK(timerfd_settime(fd, TFD_TIMER_ABSTIME, &abs, NULL));
	CHECK_EQ(wait_fd(fd, POLLIN, 2000) & POLLIN, POLLIN);
	CHECK_EQ(read(fd, &n, sizeof n), 8);
	abs.it_value.tv_sec += 100;
	CHECK_OK(timerfd_settime(fd, TFD_TIMER_ABSTIME, &abs, NULL));
	CHECK_OK(timerfd_gettime(fd, &cur)); // reported relative
	CHECK(cur.it_value.tv_sec >= 98 && cur.it_value.tv_sec <= 100);
	CHECK_EQ(wait_fd(fd, POLLIN, 20), 0);

	CHECK_ERR(timerfd_create(12345, 0), EINVAL);
	CHECK_ERR(timerfd_create(CLOCK_MONOTONIC, 0x1), EINVAL);
	struct itimerspec bad = {.it_value = {0, 1000000000}};
	CHECK_ERR(timerfd_settime(fd, 0, &bad, NULL), EINVAL);
	CHECK_ERR(timerfd_settime(fd, 0x80, &its, NULL), EINVAL);
	CHECK_ERR(timerfd_gettime(0, &cur), EINVAL); // not a timerfd
	close(fd);
	return 0;
}
