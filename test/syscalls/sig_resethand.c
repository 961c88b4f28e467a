// sig_resethand: with SA_RESETHAND the disposition is reset to SIG_DFL as the
// handler is entered (sigaction reads back SIG_DFL inside and after it, so a
// second SIGUSR1 kills the process), and the signal is blocked inside the
// handler as usual unless SA_NODEFER is also given.
//
//go:build ignore

#include "task_check.h"

static volatile int hits, was_default, was_blocked;

static void handler(int sig, siginfo_t *si, void *uc) {
	(void)si, (void)uc;
	hits++;
	struct sigaction cur;
	sigaction(sig, NULL, &cur);
	was_default = cur.sa_handler == SIG_DFL;
	sigset_t m;
	sigprocmask(SIG_BLOCK, NULL, &m);
	was_blocked = sigismember(&m, sig);
}

int main(void) {
	install(SIGUSR1, handler, SA_RESETHAND);
	CHECK_OK(raise(SIGUSR1));
	CHECK_EQ(hits, 1);
	CHECK_EQ(was_default, 1);
	CHECK_EQ(was_blocked, 1);
	struct sigaction cur;
	CHECK_OK(sigaction(SIGUSR1, NULL, &cur));
	CHECK(cur.sa_handler == SIG_DFL);

	install(SIGUSR2, handler, SA_RESETHAND | SA_NODEFER);
	CHECK_OK(raise(SIGUSR2));
	CHECK_EQ(hits, 2);
	CHECK_EQ(was_default, 1);
	CHECK_EQ(was_blocked, 0);

	// The next SIGUSR1 takes the default action.
	pid_t pid = XFORK();
	if (pid == 0) {
		install(SIGUSR1, handler, SA_RESETHAND);
		raise(SIGUSR1);
		if (hits != 3)
			_exit(2);
		raise(SIGUSR1);
		_exit(3);
	}
	WAIT_KILLED(pid, SIGUSR1);
	return 0;
}
