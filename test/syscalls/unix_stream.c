// unix_stream: SOCK_STREAM unix sockets carry bytes both ways without
// boundaries: over a socketpair (read/write, readv/writev, send/recv with
// MSG_PEEK and MSG_WAITALL) and over a bound path to a forked server
// (listen/connect/accept4 with its flags), with getsockname/getpeername
// formats (unnamed = sizeof(sa_family_t), paths with their NUL); fstat
// is S_IFSOCK and /proc/self/fd shows socket:[ino].
//
//go:build ignore

#include "fs_check.h"
#include <sys/socket.h>
#include <stddef.h>
#include <sys/un.h>

static void echo_server(int l) {
	int c = accept(l, NULL, NULL);
	if (c < 0)
		_exit(2);
	char buf[256];
	ssize_t n;
	while ((n = read(c, buf, sizeof buf)) > 0)
		if (write(c, buf, n) != n)
			_exit(3);
	_exit(n == 0 ? 0 : 4);
}

int main(void) {
	int sv[2];
	CHECK_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	CHECK_EQ(write(sv[0], "hello", 5), 5);
	CHECK_EQ(write(sv[0], " world", 6), 6);
	char buf[64] = {0};
	// Stream: two writes come back as one read.
	CHECK_EQ(recv(sv[1], buf, sizeof buf, MSG_PEEK), 11);
	CHECK_EQ(read(sv[1], buf, sizeof buf), 11);
	CHECK_MEM(buf, "hello world", 11);
	struct iovec iov[2] = {{"ab", 2}, {"cdef", 4}};
	CHECK_EQ(writev(sv[1], iov, 2), 6);
	char x[3], y[3];
	struct iovec riov[2] = {{x, 3}, {y, 3}};
	CHECK_EQ(readv(sv[0], riov, 2), 6);
	CHECK_MEM(x, "abc", 3);
	CHECK_MEM(y, "def", 3);
	// MSG_WAITALL waits for the rest from a forked writer.
	pid_t pid = XFORK();
	if (pid == 0) {
		for (int i = 0; i < 4; i++) {
			msleep(5);
			if (send(sv[1], "wxyz" + i, 1, 0) != 1)
				_exit(1);
		}
		_exit(0);
	}
	CHECK_EQ(recv(sv[0], buf, 4, MSG_WAITALL), 4);
	CHECK_MEM(buf, "wxyz", 4);
	WAIT_EXIT(pid, 0);

	struct stat st;
	CHECK_OK(fstat(sv[0], &st));
	CHECK(S_ISSOCK(st.st_mode));
	char link[64], want[64];
	snprintf(link, sizeof link, "/proc/self/fd/%d", sv[0]);
	ssize_t ln = readlink(link, buf, sizeof buf - 1);
	CHECK(ln > 0);
	buf[ln] = 0;
	snprintf(want, sizeof want, "socket:[%lu]", (unsigned long)st.st_ino);
	CHECK_EQ(strcmp(buf, want), 0);

	struct sockaddr_un a;
	socklen_t len = sizeof a;
	CHECK_OK(getsockname(sv[0], (struct sockaddr *)&a, &len));
	CHECK_EQ(len, sizeof(sa_family_t));
	CHECK_EQ(a.sun_family, AF_UNIX);
	len = sizeof a;
	CHECK_OK(getpeername(sv[0], (struct sockaddr *)&a, &len));
	CHECK_EQ(len, sizeof(sa_family_t));
	close(sv[0]);
	close(sv[1]);

	// A path: the server is a forked child.
	scratch_cd();
	int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(l >= 0);
	CHECK_EQ(fcntl(l, F_GETFD), FD_CLOEXEC);
	struct sockaddr_un sa = {.sun_family = AF_UNIX, .sun_path = "srv"};
	CHECK_OK(bind(l, (struct sockaddr *)&sa, sizeof sa));
	len = sizeof a;
	CHECK_OK(getsockname(l, (struct sockaddr *)&a, &len));
	CHECK_EQ(len, offsetof(struct sockaddr_un, sun_path) + 4);
	CHECK_EQ(strcmp(a.sun_path, "srv"), 0);
	// A short buffer is filled and the full length reported.
	len = 3;
	memset(&a, 0, sizeof a);
	CHECK_OK(getsockname(l, (struct sockaddr *)&a, &len));
	CHECK_EQ(len, offsetof(struct sockaddr_un, sun_path) + 4);
	CHECK_EQ(a.sun_path[0], 's');
	CHECK_EQ(a.sun_path[1], 0);
	CHECK_OK(listen(l, 5));
	int v;
	socklen_t vl = sizeof v;
	CHECK_OK(getsockopt(l, SOL_SOCKET, SO_ACCEPTCONN, &v, &vl));
	CHECK_EQ(v, 1);

	pid = XFORK();
	if (pid == 0)
		echo_server(l);
	int c = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK_OK(connect(c, (struct sockaddr *)&sa, sizeof sa));
	CHECK_ERR(connect(c, (struct sockaddr *)&sa, sizeof sa), EISCONN);
	len = sizeof a;
	CHECK_OK(getpeername(c, (struct sockaddr *)&a, &len));
	CHECK_EQ(len, offsetof(struct sockaddr_un, sun_path) + 4);
	CHECK_EQ(strcmp(a.sun_path, "srv"), 0);
	len = sizeof a;
	CHECK_OK(getsockname(c, (struct sockaddr *)&a, &len));
	CHECK_EQ(len, sizeof(sa_family_t));
	for (int i = 0; i < 50; i++) {
		char msg[32], got[32];
		int n = snprintf(msg, sizeof msg, "message %d", i);
		CHECK_EQ(send(c, msg, n, 0), n);
		CHECK_EQ(recv(c, got, n, MSG_WAITALL), n);
		CHECK_MEM(got, msg, n);
	}
	CHECK_OK(shutdown(c, SHUT_WR));
	CHECK_EQ(read(c, buf, sizeof buf), 0);
	WAIT_EXIT(pid, 0);
	close(c);

	// accept4 flags, and the accepted end's names.
	c = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK_OK(connect(c, (struct sockaddr *)&sa, sizeof sa));
	CHECK_ERR(accept4(l, NULL, NULL, 0x1234), EINVAL);
	len = sizeof a;
	memset(&a, 0x55, sizeof a);
	int s = accept4(l, (struct sockaddr *)&a, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
	CHECK(s >= 0);
	CHECK_EQ(len, sizeof(sa_family_t));
	CHECK_EQ(a.sun_family, AF_UNIX);
	CHECK_EQ(fcntl(s, F_GETFD), FD_CLOEXEC);
	CHECK(fcntl(s, F_GETFL) & O_NONBLOCK);
	CHECK_ERR(read(s, buf, 1), EAGAIN);
	len = sizeof a;
	CHECK_OK(getsockname(s, (struct sockaddr *)&a, &len));
	CHECK_EQ(strcmp(a.sun_path, "srv"), 0);
	CHECK_EQ(write(c, "z", 1), 1);
	CHECK_EQ(read(s, buf, sizeof buf), 1);
	close(s);
	close(c);
	close(l);
	return 0;
}
