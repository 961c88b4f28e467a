// fs_pipe_sigpipe: writing to a pipe (or FIFO) without readers raises
// SIGPIPE, which by default kills the writer; with SIGPIPE ignored or
// blocked, the write fails with EPIPE (a blocked SIGPIPE stays pending);
// data already written before the reader left is simply lost.
//
//go:build ignore

#include "fs_check.h"

int main(void) {
	int p[2];
	CHECK_OK(pipe(p));
	close(p[0]);
	pid_t pid = XFORK();
	if (pid == 0) {
		signal(SIGPIPE, SIG_DFL);
		ssize_t n = write(p[1], "x", 1);
		(void)n;
		_exit(3); // must not get here
	}
	WAIT_KILLED(pid, SIGPIPE);

	signal(SIGPIPE, SIG_IGN);
	CHECK_ERR(write(p[1], "x", 1), EPIPE);
	struct iovec iov = {"y", 1};
	CHECK_ERR(writev(p[1], &iov, 1), EPIPE);
	close(p[1]);

	// Blocked: EPIPE and a pending SIGPIPE.
	signal(SIGPIPE, SIG_DFL);
	block(SIGPIPE, SIG_BLOCK);
	CHECK_OK(pipe(p));
	CHECK_EQ(write(p[1], "lost", 4), 4);
	close(p[0]);
	CHECK_ERR(write(p[1], "x", 1), EPIPE);
	sigset_t pend;
	CHECK_OK(sigpending(&pend));
	CHECK(sigismember(&pend, SIGPIPE));
	signal(SIGPIPE, SIG_IGN); // discards the pending one
	CHECK_OK(sigpending(&pend));
	CHECK(!sigismember(&pend, SIGPIPE));
	close(p[1]);

	// A named FIFO whose reader went away.
	scratch_cd();
	CHECK_OK(mkfifo("fifo", 0600));
	int r = open("fifo", O_RDONLY | O_NONBLOCK);
	int w = open("fifo", O_WRONLY | O_NONBLOCK);
	CHECK(r >= 0 && w >= 0);
	close(r);
	CHECK_ERR(write(w, "x", 1), EPIPE);
	close(w);
	return 0;
}
