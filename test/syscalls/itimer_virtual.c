// itimer_virtual: ITIMER_VIRTUAL counts user CPU time and delivers
// SIGVTALRM, ITIMER_PROF counts user+system CPU time and delivers SIGPROF;
// neither advances while the process sleeps.
//
//go:build ignore

#include "task_check.h"
#include <sys/time.h>

static volatile int vt, prof;
static void on_sig(int sig, siginfo_t *si, void *uc) {
	(void)si, (void)uc;
	if (sig == SIGVTALRM)
		vt++;
	else
		prof++;
}

int main(void) {
	install(SIGVTALRM, on_sig, SA_RESTART);
	install(SIGPROF, on_sig, SA_RESTART);
	struct itimerval v = {{0, 0}, {0, 50000}};
	CHECK_OK(setitimer(ITIMER_VIRTUAL, &v, NULL));
	CHECK_OK(setitimer(ITIMER_PROF, &v, NULL));

	// Sleeping 150 ms uses no CPU: nothing fires.
	msleep(150);
	CHECK_EQ(vt, 0);
	CHECK_EQ(prof, 0);
	struct itimerval cur;
	CHECK_OK(getitimer(ITIMER_VIRTUAL, &cur));
	CHECK(cur.it_value.tv_sec == 0 && cur.it_value.tv_usec > 30000);

	// Spinning does.
	long long c0 = now_ns(CLOCK_PROCESS_CPUTIME_ID);
	volatile unsigned long x = 0;
	while (vt == 0 || prof == 0) {
		x++;
		CHECK(now_ns(CLOCK_PROCESS_CPUTIME_ID) - c0 < 3000 * 1000000LL);
	}
	CHECK(now_ns(CLOCK_PROCESS_CPUTIME_ID) - c0 >= 25 * 1000000LL); // 50 ms in (coarse) ticks
	CHECK_EQ(vt, 1);
	CHECK_EQ(prof, 1);
	return 0;
}
