// unix_shutdown: shutdown(2) and close on connected unix sockets, Linux's
// way: SHUT_WR gives the peer EOF after the queued data and the writer
// EPIPE with SIGPIPE (not with MSG_NOSIGNAL; datagram and seqpacket
// sockets never raise SIGPIPE); SHUT_RD still returns queued data, then
// EOF, and the peer's writes fail with EPIPE; closing with unread data
// gives the peer ECONNRESET once, then EOF; a blocked reader wakes when
// the peer closes; bad "how" is EINVAL; a non-socket is ENOTSOCK.
//
//go:build ignore

#include "task_check.h"
#include <signal.h>
#include <sys/socket.h>

static volatile sig_atomic_t pipes;
static void on_pipe(int sig) {
	(void)sig;
	pipes++;
}

int main(void) {
	signal(SIGPIPE, on_pipe);
	int sv[2];
	char buf[16];
	CHECK_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	CHECK_ERR(shutdown(sv[0], 7), EINVAL);
	CHECK_ERR(shutdown(0 + 1000, SHUT_RD), EBADF);
	int p[2];
	CHECK_OK(pipe(p));
	CHECK_ERR(shutdown(p[0], SHUT_RD), ENOTSOCK);
	CHECK_EQ(write(sv[0], "abc", 3), 3);
	CHECK_OK(shutdown(sv[0], SHUT_WR));
	CHECK_EQ(read(sv[1], buf, sizeof buf), 3);
	CHECK_EQ(read(sv[1], buf, sizeof buf), 0);
	CHECK_EQ(read(sv[1], buf, sizeof buf), 0);
	CHECK_ERR(write(sv[0], "x", 1), EPIPE);
	CHECK_EQ(pipes, 1);
	CHECK_ERR(send(sv[0], "x", 1, MSG_NOSIGNAL), EPIPE);
	CHECK_EQ(pipes, 1);
	// The other direction still works.
	CHECK_EQ(write(sv[1], "back", 4), 4);
	CHECK_EQ(read(sv[0], buf, sizeof buf), 4);
	close(sv[0]);
	close(sv[1]);

	CHECK_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	CHECK_EQ(write(sv[1], "q", 1), 1);
	CHECK_OK(shutdown(sv[0], SHUT_RD));
	CHECK_EQ(read(sv[0], buf, sizeof buf), 1);
	CHECK_EQ(read(sv[0], buf, sizeof buf), 0);
	CHECK_ERR(send(sv[1], "x", 1, MSG_NOSIGNAL), EPIPE);
	close(sv[0]);
	close(sv[1]);

	// Close with unread data: ECONNRESET once, then EOF; writes EPIPE.
	CHECK_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	CHECK_EQ(write(sv[1], "unread", 6), 6);
	close(sv[0]);
	CHECK_ERR(read(sv[1], buf, sizeof buf), ECONNRESET);
	CHECK_EQ(read(sv[1], buf, sizeof buf), 0);
	int v = -1;
	socklen_t vl = sizeof v;
	CHECK_OK(getsockopt(sv[1], SOL_SOCKET, SO_ERROR, &v, &vl));
	CHECK_EQ(v, 0);
	pipes = 0;
	CHECK_ERR(write(sv[1], "x", 1), EPIPE);
	CHECK_EQ(pipes, 1);
	close(sv[1]);

	// Without a handler, SIGPIPE kills the writer.
	CHECK_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	close(sv[1]);
	pid_t pid = XFORK();
	if (pid == 0) {
		signal(SIGPIPE, SIG_DFL);
		(void)write(sv[0], "x", 1);
		_exit(0);
	}
	WAIT_KILLED(pid, SIGPIPE);
	close(sv[0]);

	// Seqpacket and datagram sockets: EPIPE without SIGPIPE.
	int types[] = {SOCK_SEQPACKET, SOCK_DGRAM};
	for (int i = 0; i < 2; i++) {
		CHECK_OK(socketpair(AF_UNIX, types[i], 0, sv));
		CHECK_OK(shutdown(sv[0], SHUT_WR));
		pipes = 0;
		CHECK_ERR(send(sv[0], "x", 1, 0), EPIPE);
		CHECK_EQ(pipes, 0);
		close(sv[0]);
		close(sv[1]);
	}
	CHECK_OK(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv));
	close(sv[1]);
	CHECK_EQ(recv(sv[0], buf, sizeof buf, 0), 0);
	CHECK_ERR(send(sv[0], "x", 1, 0), EPIPE);
	CHECK_EQ(pipes, 0);
	close(sv[0]);

	// A blocked reader wakes up when the writer's child closes its end.
	CHECK_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	pid = XFORK();
	if (pid == 0) {
		close(sv[0]);
		msleep(20);
		_exit(write(sv[1], "late", 4) == 4 ? 0 : 1);
	}
	close(sv[1]);
	alarm(5);
	CHECK_EQ(read(sv[0], buf, sizeof buf), 4);
	CHECK_EQ(read(sv[0], buf, sizeof buf), 0);
	alarm(0);
	WAIT_EXIT(pid, 0);
	return 0;
}
