// sig_ignored: ignored signals are discarded: SIG_IGN'd ones and those whose
// default is to ignore (SIGCHLD, SIGURG, SIGWINCH, SIGCONT) leave nothing
// pending; a blocked ignored signal is held pending and dropped on unblock;
// setting SIG_IGN discards an already pending signal; SIG_IGN is inherited by
// fork, so the child survives a SIGTERM.
//
//go:build ignore

#include "task_check.h"

static volatile int hits;
static void handler(int sig, siginfo_t *si, void *uc) {
	(void)sig, (void)si, (void)uc;
	hits++;
}

static int pending(int sig) {
	sigset_t p;
	if (sigpending(&p) != 0)
		FAIL("sigpending (errno %d %s)", errno, errname(errno));
	return sigismember(&p, sig);
}

int main(void) {
	CHECK(signal(SIGUSR1, SIG_IGN) != SIG_ERR);
	CHECK_OK(kill(getpid(), SIGUSR1));
	CHECK(!pending(SIGUSR1));
	int dfl_ign[] = {SIGCHLD, SIGURG, SIGWINCH, SIGCONT};
	for (unsigned i = 0; i < 4; i++) {
		CHECK(signal(dfl_ign[i], SIG_DFL) != SIG_ERR);
		CHECK_OK(kill(getpid(), dfl_ign[i]));
		CHECK(!pending(dfl_ign[i]));
	}

	// Blocked and ignored: held, then dropped.
	block(SIGUSR1, SIG_BLOCK);
	CHECK_OK(kill(getpid(), SIGUSR1));
	CHECK(pending(SIGUSR1));
	block(SIGUSR1, SIG_UNBLOCK);
	CHECK(!pending(SIGUSR1));

	// Ignoring discards what is pending.
	install(SIGUSR2, handler, 0);
	block(SIGUSR2, SIG_BLOCK);
	CHECK_OK(kill(getpid(), SIGUSR2));
	CHECK(pending(SIGUSR2));
	CHECK(signal(SIGUSR2, SIG_IGN) != SIG_ERR);
	CHECK(!pending(SIGUSR2));
	install(SIGUSR2, handler, 0);
	block(SIGUSR2, SIG_UNBLOCK);
	CHECK_EQ(hits, 0);
	CHECK_OK(raise(SIGUSR2));
	CHECK_EQ(hits, 1);

	CHECK(signal(SIGTERM, SIG_IGN) != SIG_ERR);
	int p[2];
	CHECK_OK(pipe(p));
	pid_t pid = XFORK();
	if (pid == 0) {
		char c;
		(void)!read(p[0], &c, 1);
		_exit(5);
	}
	CHECK_OK(kill(pid, SIGTERM));
	msleep(30);
	CHECK_EQ(waitpid(pid, NULL, WNOHANG), 0); // still alive
	CHECK_EQ(write(p[1], "x", 1), 1);
	WAIT_EXIT(pid, 5);
	return 0;
}
