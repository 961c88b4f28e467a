// inet_rcvtimeo: SO_RCVTIMEO bounds blocking recv on TCP and UDP and
// blocking accept (EAGAIN when it expires); SO_SNDTIMEO bounds a send
// into a full buffer (a partial count or EAGAIN).
//
//go:build ignore

#include "inet_check.h"
#include <sys/time.h>

int main(void) {
	struct timeval tv = {.tv_usec = 50000};
	int c, a;
	tcp_pair(AF_INET, &c, &a);
	CHECK_OK(setsockopt(a, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv));
	char buf[16];
	CHECK_ERR(recv(a, buf, sizeof buf, 0), EAGAIN);
	CHECK_ERR(read(a, buf, sizeof buf), EAGAIN);

	int u = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in sa = lo4(0);
	CHECK_OK(bind(u, (struct sockaddr *)&sa, sizeof sa));
	CHECK_OK(setsockopt(u, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv));
	CHECK_ERR(recvfrom(u, buf, sizeof buf, 0, NULL, NULL), EAGAIN);

	int l = listener(AF_INET, 1);
	CHECK_OK(setsockopt(l, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv));
	CHECK_ERR(accept(l, NULL, NULL), EAGAIN);

	// Fill c's send buffer and a's receive buffer: nobody reads a.
	setint(c, SOL_SOCKET, SO_SNDBUF, 4096);
	CHECK_OK(setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv));
	static char big[1 << 20];
	ssize_t n;
	int rounds = 0;
	while ((n = send(c, big, sizeof big, 0)) > 0 && rounds < 64)
		rounds++;
	CHECK(rounds < 64);
	CHECK_EQ(n, -1);
	CHECK_EQ(errno, EAGAIN);
	return 0;
}
