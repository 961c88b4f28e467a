// wait_nocldwait: with SIGCHLD set to SIG_IGN, or with SA_NOCLDWAIT, exited
// children are reaped by the kernel: no zombie remains, and wait blocks until
// the last child has exited, then fails with ECHILD; with the default
// disposition zombies are back. wait with no children is ECHILD at once.
//
//go:build ignore

#include "task_check.h"

static void handler(int sig) { (void)sig; }

static void check_autoreap(void) {
	pid_t quick = XFORK();
	if (quick == 0)
		_exit(0);
	long long t0 = now_ns(CLOCK_MONOTONIC);
	pid_t slow = XFORK();
	if (slow == 0) {
		msleep(100);
		_exit(0);
	}
	CHECK_ERR(wait(NULL), ECHILD); // waits for both, then nothing to report
	CHECK(now_ns(CLOCK_MONOTONIC) - t0 >= 90 * 1000000LL);
	CHECK_ERR(kill(quick, 0), ESRCH);
	CHECK_ERR(kill(slow, 0), ESRCH);
}

int main(void) {
	CHECK_ERR(wait(NULL), ECHILD);

	CHECK(signal(SIGCHLD, SIG_IGN) != SIG_ERR);
	check_autoreap();

	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = handler;
	sa.sa_flags = SA_NOCLDWAIT | SA_RESTART;
	CHECK_OK(sigaction(SIGCHLD, &sa, NULL));
	check_autoreap();

	CHECK(signal(SIGCHLD, SIG_DFL) != SIG_ERR);
	pid_t pid = XFORK();
	if (pid == 0)
		_exit(3);
	msleep(20);
	CHECK_EQ(kill(pid, 0), 0); // a zombie again
	WAIT_EXIT(pid, 3);
	return 0;
}
