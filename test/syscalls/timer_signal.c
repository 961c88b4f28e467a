// timer_signal: a POSIX timer (timer_create, SIGEV_SIGNAL) delivers its
// signal with si_code SI_TIMER, the timer's id and sigev_value; timer_gettime
// counts down and shows the interval; while the signal is blocked, further
// expirations of a periodic timer are folded into the one queued signal
// (si_overrun) instead of queued; a zero value disarms; timer_delete makes the id invalid (EINVAL).
//
//go:build ignore

#include "task_check.h"

static volatile int hits, code, val, tid_seen, overrun_seen;

static void handler(int sig, siginfo_t *si, void *uc) {
	(void)sig, (void)uc;
	hits++;
	code = si->si_code;
	val = si->si_value.sival_int;
	tid_seen = si->si_timerid;
	if (si->si_overrun > overrun_seen)
		overrun_seen = si->si_overrun; // the largest seen
}

int main(void) {
	int sig = SIGRTMIN + 4;
	install(sig, handler, SA_RESTART);
	struct sigevent ev;
	memset(&ev, 0, sizeof ev);
	ev.sigev_notify = SIGEV_SIGNAL;
	ev.sigev_signo = sig;
	ev.sigev_value.sival_int = 4242;
	timer_t t;
	CHECK_OK(timer_create(CLOCK_MONOTONIC, &ev, &t));

	struct itimerspec its = {{0, 0}, {0, 60 * 1000000}}, cur;
	long long t0 = now_ns(CLOCK_MONOTONIC);
	CHECK_OK(timer_settime(t, 0, &its, NULL));
	CHECK_OK(timer_gettime(t, &cur));
	CHECK(ts_ns(cur.it_value) > 0 && ts_ns(cur.it_value) <= 60 * 1000000LL);
	CHECK_EQ(ts_ns(cur.it_interval), 0);
	while (hits == 0) {
		CHECK(now_ns(CLOCK_MONOTONIC) - t0 < 5000 * 1000000LL);
		msleep(1);
	}
	CHECK(now_ns(CLOCK_MONOTONIC) - t0 >= 60 * 1000000LL);
	CHECK_EQ(hits, 1);
	CHECK_EQ(code, SI_TIMER);
	CHECK_EQ(val, 4242);
	CHECK_EQ(tid_seen, (int)(intptr_t)t); // glibc's timer_t is the kernel id
	CHECK_OK(timer_gettime(t, &cur));
	CHECK_EQ(ts_ns(cur.it_value), 0);

	// Periodic every 5 ms while blocked for 100 ms: one signal, overruns.
	block(sig, SIG_BLOCK);
	struct itimerspec per = {{0, 5 * 1000000}, {0, 5 * 1000000}};
	long long b0 = now_ns(CLOCK_MONOTONIC);
	CHECK_OK(timer_settime(t, 0, &per, NULL));
	msleep(100);
	CHECK_EQ(hits, 1);
	long long blocked_ms = (now_ns(CLOCK_MONOTONIC) - b0) / 1000000;
	block(sig, SIG_UNBLOCK);
	CHECK(hits >= 2);
	CHECK(overrun_seen >= 5); // about 20 expirations folded into one signal
	CHECK(overrun_seen <= blocked_ms / 5 + 1);
	CHECK(timer_getoverrun(t) >= 0);
	struct itimerspec stop = {{0, 0}, {0, 0}}, old;
	CHECK_OK(timer_settime(t, 0, &stop, &old));
	CHECK_EQ(ts_ns(old.it_interval), 5 * 1000000LL);
	int n = hits;
	msleep(30);
	CHECK_EQ(hits, n); // disarmed

	CHECK_OK(timer_delete(t));
	CHECK_ERR(syscall(SYS_timer_gettime, t, &cur), EINVAL);
	CHECK_ERR(syscall(SYS_timer_delete, t), EINVAL);
	CHECK_ERR(syscall(SYS_timer_getoverrun, (timer_t)(intptr_t)123456), EINVAL);
	return 0;
}
