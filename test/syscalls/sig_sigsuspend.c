// sig_sigsuspend: sigsuspend replaces the mask for its duration, returns
// -1 EINTR after a handler ran (a signal pending and blocked before the call
// is delivered at once; one sent later by another process wakes it), and
// restores the old mask; a signal still blocked by the temporary mask does
// not wake it. pause() likewise returns EINTR after a handler.
//
//go:build ignore

#include "task_check.h"

static volatile int hits, last;
static void handler(int sig, siginfo_t *si, void *uc) {
	(void)si, (void)uc;
	hits++;
	last = sig;
}

int main(void) {
	install(SIGUSR1, handler, 0);
	install(SIGUSR2, handler, 0);
	sigset_t blocked, during, now;
	sigemptyset(&blocked);
	sigaddset(&blocked, SIGUSR1);
	sigaddset(&blocked, SIGUSR2);
	CHECK_OK(sigprocmask(SIG_BLOCK, &blocked, NULL));

	// Already pending: delivered as soon as sigsuspend unblocks it.
	CHECK_OK(raise(SIGUSR1));
	sigemptyset(&during);
	CHECK_ERR(sigsuspend(&during), EINTR);
	CHECK_EQ(hits, 1);
	CHECK_EQ(last, SIGUSR1);
	CHECK_OK(sigprocmask(SIG_BLOCK, NULL, &now));
	CHECK(sigismember(&now, SIGUSR1)); // the old mask is back

	// Sent by a child: SIGUSR2 first (still blocked during the call), then
	// SIGUSR1, which wakes it; SIGUSR2 stays pending.
	sigaddset(&during, SIGUSR2);
	pid_t parent = getpid();
	pid_t pid = XFORK();
	if (pid == 0) {
		msleep(30);
		kill(parent, SIGUSR2);
		msleep(30);
		kill(parent, SIGUSR1);
		_exit(0);
	}
	CHECK_ERR(sigsuspend(&during), EINTR);
	CHECK_EQ(hits, 2);
	CHECK_EQ(last, SIGUSR1);
	WAIT_EXIT(pid, 0);
	sigset_t p;
	CHECK_OK(sigpending(&p));
	CHECK(sigismember(&p, SIGUSR2));
	CHECK_OK(sigprocmask(SIG_UNBLOCK, &blocked, NULL));
	CHECK_EQ(hits, 3);
	CHECK_EQ(last, SIGUSR2);

	// pause: the child repeats the signal until we acknowledge, so that
	// one arriving before pause is entered cannot leave it hanging.
	int ack[2];
	CHECK_OK(pipe2(ack, O_NONBLOCK));
	pid = XFORK();
	if (pid == 0) {
		char c;
		for (int i = 0; i < 500 && read(ack[0], &c, 1) != 1; i++) {
			kill(parent, SIGUSR1);
			msleep(10);
		}
		_exit(0);
	}
	CHECK_ERR(pause(), EINTR);
	CHECK(hits >= 4);
	CHECK_EQ(last, SIGUSR1);
	CHECK_EQ(write(ack[1], "a", 1), 1);
	WAIT_EXIT(pid, 0);
	return 0;
}
