// sig_kill_info: a signal sent with kill to oneself (unblocked) runs its
// SA_SIGINFO handler before kill returns, with si_signo, si_code SI_USER,
// si_pid and si_uid of the sender; a signal from a child carries the child's
// pid; kill with a bad signal is EINVAL, to a missing pid ESRCH, and signal 0
// only checks.
//
//go:build ignore

#include "task_check.h"

static volatile int hits, h_sig, h_signo, h_code, h_pid, h_uid, h_tid;

static void handler(int sig, siginfo_t *si, void *uc) {
	(void)uc;
	hits++;
	h_sig = sig;
	h_signo = si->si_signo;
	h_code = si->si_code;
	h_pid = si->si_pid;
	h_uid = si->si_uid;
	h_tid = gettid();
}

int main(void) {
	install(SIGUSR1, handler, 0);
	install(SIGUSR2, handler, 0);
	CHECK_EQ(kill(getpid(), SIGUSR1), 0);
	CHECK_EQ(hits, 1); // already delivered
	CHECK_EQ(h_sig, SIGUSR1);
	CHECK_EQ(h_signo, SIGUSR1);
	CHECK_EQ(h_code, SI_USER);
	CHECK_EQ(h_pid, getpid());
	CHECK_EQ(h_uid, getuid());
	CHECK_EQ(h_tid, gettid());

	CHECK_EQ(kill(getpid(), 0), 0);
	CHECK_EQ(hits, 1);
	CHECK_ERR(kill(getpid(), 65), EINVAL);
	CHECK_ERR(kill(getpid(), -1), EINVAL);

	sigset_t none;
	sigemptyset(&none);
	block(SIGUSR2, SIG_BLOCK);
	pid_t parent = getpid();
	pid_t pid = XFORK();
	if (pid == 0)
		_exit(kill(parent, SIGUSR2) == 0 ? 0 : 1);
	WAIT_EXIT(pid, 0);
	CHECK_EQ(hits, 1); // blocked
	block(SIGUSR2, SIG_UNBLOCK);
	CHECK_EQ(hits, 2);
	CHECK_EQ(h_sig, SIGUSR2);
	CHECK_EQ(h_code, SI_USER);
	CHECK_EQ(h_pid, pid);
	CHECK_EQ(h_uid, getuid());

	CHECK_ERR(kill(pid, 0), ESRCH); // reaped
	CHECK_ERR(kill(pid, SIGUSR1), ESRCH);
	return 0;
}
