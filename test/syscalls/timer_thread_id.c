// timer_thread_id: a POSIX timer with SIGEV_THREAD_ID signals exactly the
// thread it names (the handler runs there), even while another thread could
// take the signal; SIGEV_NONE sends nothing but still counts down and
// expires (timer_gettime reaches 0); a tid outside the process is EINVAL.
// SIGEV_NONE's sigev_signo has its own counter: the worker may still be
// running the handler of a SIGUSR1 it took just before the timer_delete.
//
//go:build ignore

#include "task_check.h"

#ifndef sigev_notify_thread_id
#define sigev_notify_thread_id _sigev_un._tid
#endif

static volatile int hits;
static volatile pid_t handler_tid;
static void handler(int sig, siginfo_t *si, void *uc) {
	(void)sig, (void)si, (void)uc;
	handler_tid = gettid();
	hits++;
}

static volatile int none_hits;
static void none_handler(int sig, siginfo_t *si, void *uc) {
	(void)sig, (void)si, (void)uc;
	none_hits++;
}

static atomic_int stop;
static pid_t worker_tid;
static void *worker(void *arg) {
	(void)arg;
	worker_tid = gettid();
	while (!atomic_load(&stop))
		msleep(2);
	return NULL;
}

int main(void) {
	install(SIGUSR1, handler, SA_RESTART);
	install(SIGUSR2, none_handler, SA_RESTART);
	pthread_t w;
	CHECK_EQ(pthread_create(&w, NULL, worker, NULL), 0);
	while (!__atomic_load_n(&worker_tid, __ATOMIC_ACQUIRE))
		msleep(1);

	for (int target = 0; target < 2; target++) {
		pid_t tid = target ? worker_tid : gettid();
		struct sigevent ev;
		memset(&ev, 0, sizeof ev);
		ev.sigev_notify = SIGEV_THREAD_ID;
		ev.sigev_signo = SIGUSR1;
		ev.sigev_notify_thread_id = tid;
		timer_t t;
		CHECK_OK(timer_create(CLOCK_MONOTONIC, &ev, &t));
		struct itimerspec its = {{0, 5 * 1000000}, {0, 5 * 1000000}};
		CHECK_OK(timer_settime(t, 0, &its, NULL));
		int before = hits;
		long long t0 = now_ns(CLOCK_MONOTONIC);
		while (hits < before + 5) {
			CHECK(now_ns(CLOCK_MONOTONIC) - t0 < 5000 * 1000000LL);
			msleep(1);
			if (hits > before)
				CHECK_EQ(handler_tid, tid);
		}
		CHECK_OK(timer_delete(t));
		CHECK_EQ(handler_tid, tid);
	}

	// SIGEV_NONE.
	struct sigevent none;
	memset(&none, 0, sizeof none);
	none.sigev_notify = SIGEV_NONE;
	none.sigev_signo = SIGUSR2;
	timer_t n;
	CHECK_OK(timer_create(CLOCK_MONOTONIC, &none, &n));
	struct itimerspec its = {{0, 0}, {0, 30 * 1000000}}, cur;
	CHECK_OK(timer_settime(n, 0, &its, NULL));
	CHECK_OK(timer_gettime(n, &cur));
	CHECK(ts_ns(cur.it_value) > 0);
	msleep(60);
	CHECK_OK(timer_gettime(n, &cur));
	CHECK_EQ(ts_ns(cur.it_value), 0);
	CHECK_EQ(none_hits, 0);
	CHECK_OK(timer_delete(n));

	// A tid that is not one of ours.
	pid_t pid = XFORK();
	if (pid == 0) {
		pause();
		_exit(0);
	}
	struct sigevent ev;
	memset(&ev, 0, sizeof ev);
	ev.sigev_notify = SIGEV_THREAD_ID;
	ev.sigev_signo = SIGUSR1;
	ev.sigev_notify_thread_id = pid;
	timer_t t;
	CHECK_ERR(syscall(SYS_timer_create, CLOCK_MONOTONIC, &ev, &t), EINVAL);
	CHECK_OK(kill(pid, SIGKILL));
	WAIT_KILLED(pid, SIGKILL);
	atomic_store(&stop, 1);
	CHECK_EQ(pthread_join(w, NULL), 0);
	return 0;
}
