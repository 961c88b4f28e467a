// sig_timedwait: sigtimedwait takes a pending blocked signal without running
// its handler and returns its siginfo; with nothing pending it times out
// with EAGAIN after at least the timeout (at once for a zero timeout); a
// signal sent by another process while it waits ends the wait, and so
// does a blocked SIGCHLD whose action is the default (ignore): blocked, it
// is queued, never discarded, also while the wait has it unblocked; a bad
// timeout is EINVAL; sigwaitinfo dequeues real-time signals in order.
//
//go:build ignore

#include "task_check.h"

static volatile int hits;
static void handler(int sig, siginfo_t *si, void *uc) {
	(void)sig, (void)si, (void)uc;
	hits++;
}

int main(void) {
	install(SIGUSR1, handler, 0);
	int rt = SIGRTMIN + 3;
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, rt);
	CHECK_OK(sigprocmask(SIG_BLOCK, &set, NULL));

	struct timespec zero = {0, 0}, short_ = {0, 50 * 1000000};
	siginfo_t si;
	CHECK_ERR(sigtimedwait(&set, &si, &zero), EAGAIN);
	long long t0 = now_ns(CLOCK_MONOTONIC);
	CHECK_ERR(sigtimedwait(&set, &si, &short_), EAGAIN);
	CHECK(now_ns(CLOCK_MONOTONIC) - t0 >= 50 * 1000000LL);

	CHECK_OK(kill(getpid(), SIGUSR1));
	memset(&si, 0, sizeof si);
	CHECK_EQ(sigtimedwait(&set, &si, &zero), SIGUSR1);
	CHECK_EQ(si.si_signo, SIGUSR1);
	CHECK_EQ(si.si_code, SI_USER);
	CHECK_EQ(si.si_pid, getpid());
	CHECK_EQ(hits, 0); // taken, not handled
	sigset_t p;
	CHECK_OK(sigpending(&p));
	CHECK(!sigismember(&p, SIGUSR1));

	for (int i = 0; i < 3; i++)
		CHECK_OK(sigqueue(getpid(), rt, (union sigval){.sival_int = i}));
	for (int i = 0; i < 3; i++) {
		memset(&si, 0, sizeof si);
		CHECK_EQ(sigwaitinfo(&set, &si), rt);
		CHECK_EQ(si.si_code, SI_QUEUE);
		CHECK_EQ(si.si_value.sival_int, i);
	}

	pid_t parent = getpid();
	pid_t pid = XFORK();
	if (pid == 0) {
		msleep(30);
		kill(parent, SIGUSR1);
		_exit(0);
	}
	struct timespec long_ = {10, 0};
	t0 = now_ns(CLOCK_MONOTONIC);
	memset(&si, 0, sizeof si);
	CHECK_EQ(sigtimedwait(&set, &si, &long_), SIGUSR1);
	CHECK_EQ(si.si_pid, pid);
	CHECK(now_ns(CLOCK_MONOTONIC) - t0 < 5000 * 1000000LL);
	WAIT_EXIT(pid, 0);

	// SIGCHLD, default action, blocked: a child exiting while the
	// parent waits for it is taken by the wait.
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	CHECK_OK(sigprocmask(SIG_BLOCK, &chld, NULL));
	pid = XFORK();
	if (pid == 0) {
		msleep(30);
		_exit(3);
	}
	t0 = now_ns(CLOCK_MONOTONIC);
	memset(&si, 0, sizeof si);
	CHECK_EQ(sigtimedwait(&chld, &si, &long_), SIGCHLD);
	CHECK_EQ(si.si_pid, pid);
	CHECK_EQ(si.si_code, CLD_EXITED);
	CHECK_EQ(si.si_status, 3);
	CHECK(now_ns(CLOCK_MONOTONIC) - t0 < 5000 * 1000000LL);
	WAIT_EXIT(pid, 3);

	struct timespec bad = {0, 1000000000};
	CHECK_ERR(sigtimedwait(&set, &si, &bad), EINVAL);
	bad.tv_sec = -1;
	bad.tv_nsec = 0;
	CHECK_ERR(sigtimedwait(&set, &si, &bad), EINVAL);
	CHECK_EQ(hits, 0);
	return 0;
}
