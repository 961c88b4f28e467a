// inet_shutdown: SHUT_WR sends FIN (the peer reads 0, then can still send
// back), writes after SHUT_WR are EPIPE, SHUT_RD makes reads return 0,
// shutdown of an unconnected socket is ENOTCONN, a bad how is EINVAL.
//
//go:build ignore

#include "inet_check.h"
#include <signal.h>

int main(void) {
	signal(SIGPIPE, SIG_IGN);
	int c, a;
	tcp_pair(AF_INET, &c, &a);
	CHECK_EQ(write(c, "abc", 3), 3);
	CHECK_OK(shutdown(c, SHUT_WR));
	char buf[8];
	CHECK_EQ(read(a, buf, sizeof buf), 3);
	CHECK_EQ(read(a, buf, sizeof buf), 0);
	CHECK(poll1(a, POLLIN | POLLRDHUP, 0) & POLLRDHUP);
	CHECK_ERR(write(c, "x", 1), EPIPE);
	CHECK_EQ(write(a, "back", 4), 4);
	CHECK_EQ(read(c, buf, sizeof buf), 4);
	CHECK_MEM(buf, "back", 4);

	CHECK_OK(shutdown(a, SHUT_RD));
	CHECK_EQ(read(a, buf, sizeof buf), 0);
	CHECK_OK(shutdown(a, SHUT_RDWR));
	CHECK_EQ(read(c, buf, sizeof buf), 0);

	CHECK_ERR(shutdown(c, 7), EINVAL);
	int u = socket(AF_INET, SOCK_STREAM, 0);
	CHECK_ERR(shutdown(u, SHUT_RDWR), ENOTCONN);
	int d = socket(AF_INET, SOCK_DGRAM, 0);
	CHECK_ERR(shutdown(d, SHUT_RD), ENOTCONN);
	return 0;
}
