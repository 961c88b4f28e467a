// sig_mask_pending: a blocked signal stays pending (rt_sigpending shows it,
// sending it again does not queue a second standard signal) and is
// delivered as soon as it is unblocked, before sigprocmask returns; several
// pending signals are delivered lowest number first; SIGKILL and SIGSTOP
// cannot be blocked; bad how or sigsetsize is EINVAL.
//
//go:build ignore

#include "task_check.h"

static volatile int order[8], n;

static void handler(int sig, siginfo_t *si, void *uc) {
	(void)si, (void)uc;
	if (n < 8)
		order[n] = sig;
	n++;
}

int main(void) {
	// The handlers block each other, so they run in delivery order.
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = handler;
	sa.sa_flags = SA_SIGINFO;
	sigaddset(&sa.sa_mask, SIGUSR1);
	sigaddset(&sa.sa_mask, SIGUSR2);
	sigaddset(&sa.sa_mask, SIGHUP);
	CHECK_OK(sigaction(SIGUSR1, &sa, NULL));
	CHECK_OK(sigaction(SIGUSR2, &sa, NULL));
	CHECK_OK(sigaction(SIGHUP, &sa, NULL));

	sigset_t m, old, p;
	sigemptyset(&m);
	sigaddset(&m, SIGUSR2);
	CHECK_OK(sigprocmask(SIG_BLOCK, &m, &old));
	CHECK(!sigismember(&old, SIGUSR2));
	CHECK_OK(kill(getpid(), SIGUSR2));
	CHECK_OK(kill(getpid(), SIGUSR2));
	CHECK_EQ(n, 0);
	CHECK_OK(sigpending(&p));
	CHECK(sigismember(&p, SIGUSR2));
	CHECK(!sigismember(&p, SIGUSR1));
	CHECK_OK(syscall(SYS_rt_sigpending, &p, 8));
	CHECK(sigismember(&p, SIGUSR2));
	CHECK_OK(sigprocmask(SIG_UNBLOCK, &m, NULL));
	CHECK_EQ(n, 1); // once, not twice
	CHECK_EQ(order[0], SIGUSR2);
	CHECK_OK(sigpending(&p));
	CHECK(!sigismember(&p, SIGUSR2));

	// Three pending at once: lowest number first.
	sigaddset(&m, SIGUSR1);
	sigaddset(&m, SIGHUP);
	CHECK_OK(sigprocmask(SIG_SETMASK, &m, NULL));
	n = 0;
	CHECK_OK(kill(getpid(), SIGUSR2));
	CHECK_OK(kill(getpid(), SIGHUP));
	CHECK_OK(kill(getpid(), SIGUSR1));
	CHECK_EQ(n, 0);
	sigemptyset(&m);
	CHECK_OK(sigprocmask(SIG_SETMASK, &m, NULL));
	CHECK_EQ(n, 3);
	CHECK_EQ(order[0], SIGHUP);
	CHECK_EQ(order[1], SIGUSR1);
	CHECK_EQ(order[2], SIGUSR2);

	// SIGKILL and SIGSTOP are silently left out of the mask.
	sigfillset(&m);
	CHECK_OK(sigprocmask(SIG_SETMASK, &m, NULL));
	CHECK_OK(sigprocmask(SIG_SETMASK, NULL, &old));
	CHECK(!sigismember(&old, SIGKILL));
	CHECK(!sigismember(&old, SIGSTOP));
	CHECK(sigismember(&old, SIGUSR1));
	CHECK_ERR(syscall(SYS_rt_sigprocmask, 99, &m, NULL, 8), EINVAL);
	CHECK_ERR(syscall(SYS_rt_sigprocmask, SIG_BLOCK, &m, NULL, 4), EINVAL);
	CHECK_ERR(syscall(SYS_rt_sigpending, &p, 16), EINVAL);
	return 0;
}
