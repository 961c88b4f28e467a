// sched_yield_loop: a thread that does nothing but sched_yield gets 0 each
// time; signals reach it wherever it is in the call (2,000 of them, each
// waited for: a lost one hangs the test until its alarm); a seccomp filter
// decides its next call once installed, by the thread itself or by another
// with SECCOMP_FILTER_FLAG_TSYNC. glibc's sched_yield is a `mov $24,%eax;
// syscall` site, which the sandbox may answer without its kernel.
//
//go:build ignore

#include "seccomp_check.h"
#include <pthread.h>
#include <sched.h>
#include <signal.h>

static volatile int handled;
static volatile int stop;
static volatile int filtered;

static void on_usr1(int sig) {
	(void)sig;
	handled++;
}

static void *yield_until_stopped(void *arg) {
	(void)arg;
	while (!stop)
		CHECK_EQ(sched_yield(), 0);
	return NULL;
}

// yield_until_filtered yields until a call made after the main thread said
// it installed its filter fails with EPERM.
static void *yield_until_filtered(void *arg) {
	(void)arg;
	for (;;) {
		int after = filtered;
		errno = 0;
		int r = sched_yield();
		if (after) {
			CHECK(r == -1 && errno == EPERM);
			return NULL;
		}
		CHECK(r == 0 || errno == EPERM);
	}
}

int main(void) {
	alarm(60);
	struct sigaction sa = {.sa_handler = on_usr1};
	CHECK_OK(sigaction(SIGUSR1, &sa, NULL));

	pthread_t th;
	CHECK_EQ(pthread_create(&th, NULL, yield_until_stopped, NULL), 0);
	for (int i = 0; i < 2000; i++) {
		int before = handled;
		CHECK_EQ(pthread_kill(th, SIGUSR1), 0);
		while (handled == before)
			sched_yield();
	}
	stop = 1;
	CHECK_EQ(pthread_join(th, NULL), 0);
	CHECK_EQ(handled, 2000);

	// The thread's own filter.
	pid_t pid = XFORK();
	if (pid == 0) {
		for (int i = 0; i < 100; i++)
			CHECK_EQ(sched_yield(), 0);
		CHECK_OK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
		CHECK_OK(filter_errno(SYS_sched_yield, EPERM, 0));
		CHECK_ERR(sched_yield(), EPERM);
		_exit(0);
	}
	WAIT_EXIT(pid, 0);

	// Another thread's, synchronised to this one while it yields.
	pid = XFORK();
	if (pid == 0) {
		CHECK_EQ(pthread_create(&th, NULL, yield_until_filtered, NULL), 0);
		for (int i = 0; i < 1000; i++)
			CHECK_EQ(sched_yield(), 0);
		CHECK_OK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
		CHECK_OK(filter_errno(SYS_sched_yield, EPERM, SECCOMP_FILTER_FLAG_TSYNC));
		filtered = 1;
		CHECK_EQ(pthread_join(th, NULL), 0);
		CHECK_ERR(sched_yield(), EPERM);
		_exit(0);
	}
	WAIT_EXIT(pid, 0);
	CHECK_EQ(sched_yield(), 0);
	return 0;
}
