// itimer_real: setitimer(ITIMER_REAL) delivers SIGALRM when it expires (not
// before), getitimer shows the time left counting down, setitimer returns
// the previous setting, an interval re-arms it (several SIGALRMs), and a zero
// value disarms it; a bad which is EINVAL.
//
//go:build ignore

#include "task_check.h"
#include <sys/time.h>

static volatile int alarms;
static void on_alrm(int sig, siginfo_t *si, void *uc) {
	(void)sig, (void)uc;
	if (si->si_code == SI_KERNEL)
		alarms++;
	else
		alarms = -1000;
}

static long long tv_us(struct timeval t) { return t.tv_sec * 1000000LL + t.tv_usec; }

int main(void) {
	install(SIGALRM, on_alrm, SA_RESTART);
	struct itimerval v = {{0, 0}, {0, 80000}}, old, cur;
	long long t0 = now_ns(CLOCK_MONOTONIC);
	CHECK_OK(setitimer(ITIMER_REAL, &v, &old));
	CHECK_EQ(tv_us(old.it_value), 0);
	CHECK_OK(getitimer(ITIMER_REAL, &cur));
	CHECK(tv_us(cur.it_value) > 0 && tv_us(cur.it_value) <= 80000);
	msleep(20);
	struct itimerval later;
	CHECK_OK(getitimer(ITIMER_REAL, &later));
	CHECK(tv_us(later.it_value) < tv_us(cur.it_value));
	CHECK_EQ(alarms, 0);
	while (alarms == 0) {
		CHECK(now_ns(CLOCK_MONOTONIC) - t0 < 5000 * 1000000LL);
		msleep(1);
	}
	CHECK_EQ(alarms, 1);
	CHECK(now_ns(CLOCK_MONOTONIC) - t0 >= 80 * 1000000LL);
	CHECK_OK(getitimer(ITIMER_REAL, &cur));
	CHECK_EQ(tv_us(cur.it_value), 0); // one-shot: disarmed

	// Periodic: 20 ms interval.
	alarms = 0;
	struct itimerval per = {{0, 20000}, {0, 20000}};
	CHECK_OK(setitimer(ITIMER_REAL, &per, NULL));
	t0 = now_ns(CLOCK_MONOTONIC);
	while (alarms < 3) {
		CHECK(now_ns(CLOCK_MONOTONIC) - t0 < 5000 * 1000000LL);
		msleep(1);
	}
	struct itimerval zero = {{0, 0}, {0, 0}};
	CHECK_OK(setitimer(ITIMER_REAL, &zero, &old));
	CHECK_EQ(tv_us(old.it_interval), 20000);
	CHECK(tv_us(old.it_value) > 0 && tv_us(old.it_value) <= 20000);
	int n = alarms;
	CHECK(n >= 3);
	msleep(60);
	CHECK_EQ(alarms, n); // disarmed

	CHECK_ERR(setitimer((__itimer_which_t)7, &v, NULL), EINVAL);
	CHECK_ERR(getitimer((__itimer_which_t)7, &cur), EINVAL);
	return 0;
}
