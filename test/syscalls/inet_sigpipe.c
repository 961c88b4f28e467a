// inet_sigpipe: sending on a TCP socket after shutdown(SHUT_WR) fails with
// EPIPE and raises SIGPIPE, unless MSG_NOSIGNAL; writing to a connection
// the peer closed ends in EPIPE or ECONNRESET.
//
//go:build ignore

#include "inet_check.h"
#include <signal.h>

static volatile sig_atomic_t pipes;
static void on_pipe(int sig) { pipes++; }

int main(void) {
	signal(SIGPIPE, on_pipe);
	int c, a;
	tcp_pair(AF_INET, &c, &a);
	CHECK_OK(shutdown(c, SHUT_WR));
	CHECK_ERR(send(c, "x", 1, MSG_NOSIGNAL), EPIPE);
	CHECK_EQ(pipes, 0);
	CHECK_ERR(send(c, "x", 1, 0), EPIPE);
	CHECK_EQ(pipes, 1);
	CHECK_ERR(write(c, "x", 1), EPIPE);
	CHECK_EQ(pipes, 2);
	close(c);
	close(a);

	tcp_pair(AF_INET6, &c, &a);
	close(a);
	int err = 0;
	char buf[4096] = {0};
	for (int i = 0; i < 1000 && !err; i++) {
		if (send(c, buf, sizeof buf, MSG_NOSIGNAL) < 0)
			err = errno;
		else
			usleep(1000);
	}
	CHECK(err == EPIPE || err == ECONNRESET);
	return 0;
}
