// unix_nonblock: non-blocking unix sockets: accept with nothing pending,
// recv on an empty socket and MSG_DONTWAIT are EAGAIN; a listener's
// backlog of n holds n+1 connections, after which a non-blocking connect
// is EAGAIN until one is accepted; a stream writer with a small SO_SNDBUF
// fills it and gets EAGAIN (the bytes written are bounded), and can write
// again once the reader drains; SO_RCVTIMEO bounds a blocking recv
// (EAGAIN), SO_SNDBUF reads back doubled.
//
//go:build ignore

#include "fs_check.h"
#include <stddef.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

int main(void) {
	int l = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	CHECK(l >= 0);
	CHECK(fcntl(l, F_GETFL) & O_NONBLOCK);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	// An abstract name keeps the program off the file system.
	snprintf(a.sun_path + 1, sizeof a.sun_path - 1, "cocoon-nb-%d", getpid());
	socklen_t alen = offsetof(struct sockaddr_un, sun_path) + 1 + strlen(a.sun_path + 1);
	CHECK_OK(bind(l, (struct sockaddr *)&a, alen));
	CHECK_OK(listen(l, 1));
	CHECK_ERR(accept(l, NULL, NULL), EAGAIN);
	int c[4];
	for (int i = 0; i < 2; i++) {
		c[i] = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
		CHECK_OK(connect(c[i], (struct sockaddr *)&a, alen));
	}
	c[2] = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	CHECK_ERR(connect(c[2], (struct sockaddr *)&a, alen), EAGAIN);
	int s0 = accept(l, NULL, NULL);
	CHECK(s0 >= 0);
	CHECK_OK(connect(c[2], (struct sockaddr *)&a, alen));
	int s1 = accept(l, NULL, NULL);
	int s2 = accept(l, NULL, NULL);
	CHECK(s1 >= 0 && s2 >= 0);
	CHECK_ERR(accept(l, NULL, NULL), EAGAIN);
	// accepted sockets do not inherit O_NONBLOCK.
	CHECK_EQ(fcntl(s0, F_GETFL) & O_NONBLOCK, 0);

	char buf[4096];
	CHECK_ERR(recv(s0, buf, sizeof buf, MSG_DONTWAIT), EAGAIN);
	CHECK_ERR(recv(c[0], buf, sizeof buf, 0), EAGAIN);

	int v = 4096;
	CHECK_OK(setsockopt(c[0], SOL_SOCKET, SO_SNDBUF, &v, sizeof v));
	socklen_t vl = sizeof v;
	CHECK_OK(getsockopt(c[0], SOL_SOCKET, SO_SNDBUF, &v, &vl));
	CHECK_EQ(v, 8192);
	long total = 0;
	ssize_t n;
	memset(buf, 'x', sizeof buf);
	while ((n = write(c[0], buf, sizeof buf)) > 0)
		total += n;
	CHECK_ERR(write(c[0], buf, sizeof buf), EAGAIN);
	CHECK(total > 0 && total <= 65536);
	long got = 0;
	while ((n = recv(s0, buf, sizeof buf, MSG_DONTWAIT)) > 0)
		got += n;
	CHECK_EQ(got, total);
	CHECK(write(c[0], buf, 100) == 100);

	// SO_RCVTIMEO bounds a blocking receive.
	struct timeval tv = {0, 20000};
	CHECK_OK(setsockopt(s1, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv));
	struct timeval back;
	vl = sizeof back;
	CHECK_OK(getsockopt(s1, SOL_SOCKET, SO_RCVTIMEO, &back, &vl));
	CHECK_EQ(back.tv_usec, 20000);
	CHECK_ERR(recv(s1, buf, sizeof buf, 0), EAGAIN);
	CHECK_ERR(read(s1, buf, sizeof buf), EAGAIN);
	tv.tv_usec = 1000000;
	CHECK_ERR(setsockopt(s1, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), EDOM);
	return 0;
}
