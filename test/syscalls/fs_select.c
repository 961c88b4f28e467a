// fs_select: select and pselect6 report regular files as readable and
// writable at once, pipes by their state; they rewrite the sets to the ready
// fds, time out with all sets cleared, select updates the timeout it was
// given (Linux), a bad fd in a set is EBADF, a negative nfds EINVAL, and
// pselect's signal mask lets a blocked signal interrupt it (EINTR).
//
//go:build ignore

#include "fs_check.h"
#include <sys/select.h>

static volatile sig_atomic_t got;
static void on_usr1(int sig, siginfo_t *si, void *uc) { (void)sig, (void)si, (void)uc, got = 1; }

int main(void) {
	scratch_cd();
	make_file("f", 0644, "data", 4);
	int f = open("f", O_RDONLY);
	int p[2];
	CHECK_OK(pipe(p));
	CHECK(f >= 0);

	fd_set r, w;
	FD_ZERO(&r);
	FD_ZERO(&w);
	FD_SET(f, &r);
	FD_SET(f, &w);
	FD_SET(p[0], &r);
	FD_SET(p[1], &w);
	int nfds = (f > p[1] ? f : p[1]) + 1;
	struct timeval tv = {0, 0};
	CHECK_EQ(select(nfds, &r, &w, NULL, &tv), 3);
	CHECK(FD_ISSET(f, &r) && FD_ISSET(f, &w) && FD_ISSET(p[1], &w));
	CHECK(!FD_ISSET(p[0], &r));

	// Timeout: sets cleared, timeval counted down to zero.
	FD_ZERO(&r);
	FD_SET(p[0], &r);
	tv = (struct timeval){0, 20000};
	CHECK_EQ(select(p[0] + 1, &r, NULL, NULL, &tv), 0);
	CHECK(!FD_ISSET(p[0], &r));
	CHECK(tv.tv_sec == 0 && tv.tv_usec == 0);

	CHECK_EQ(write(p[1], "x", 1), 1);
	FD_ZERO(&r);
	FD_SET(p[0], &r);
	struct timespec ts = {1, 0};
	CHECK_EQ(pselect(p[0] + 1, &r, NULL, NULL, &ts, NULL), 1);
	CHECK(FD_ISSET(p[0], &r));

	// pselect: SIGUSR1 blocked normally, unblocked during the wait.
	install(SIGUSR1, on_usr1, 0);
	block(SIGUSR1, SIG_BLOCK);
	char c;
	CHECK_EQ(read(p[0], &c, 1), 1);
	pid_t pid = XFORK();
	if (pid == 0) {
		msleep(30);
		_exit(kill(getppid(), SIGUSR1) == 0 ? 0 : 1);
	}
	sigset_t during;
	sigemptyset(&during);
	FD_ZERO(&r);
	FD_SET(p[0], &r);
	ts = (struct timespec){5, 0};
	CHECK_ERR(pselect(p[0] + 1, &r, NULL, NULL, &ts, &during), EINTR);
	CHECK_EQ(got, 1);
	WAIT_EXIT(pid, 0);

	int closed = dup(f); // a closed fd inside the fd table
	CHECK_OK(close(closed));
	FD_ZERO(&r);
	FD_SET(closed, &r);
	tv = (struct timeval){0, 0};
	CHECK_ERR(select(closed + 1, &r, NULL, NULL, &tv), EBADF);
	CHECK_ERR(select(opaque(-1), NULL, NULL, NULL, &tv), EINVAL);
	tv = (struct timeval){0, -1};
	CHECK_ERR(select(0, NULL, NULL, NULL, &tv), EINVAL);
	close(f);
	close(p[0]);
	close(p[1]);
	return 0;
}
