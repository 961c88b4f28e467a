// inet_peek_trunc: MSG_PEEK leaves TCP data and UDP datagrams queued;
// UDP reads truncate a datagram (the rest is lost), recvmsg flags
// MSG_TRUNC, and MSG_TRUNC makes recv return the datagram's real length.
//
//go:build ignore

#include "inet_check.h"

int main(void) {
	int c, a;
	tcp_pair(AF_INET, &c, &a);
	CHECK_EQ(write(c, "peekaboo", 8), 8);
	char buf[16];
	// Loopback delivers at once, but wait to be sure.
	CHECK(poll1(a, POLLIN, 5000) & POLLIN);
	CHECK_EQ(recv(a, buf, 4, MSG_PEEK), 4);
	CHECK_MEM(buf, "peek", 4);
	CHECK_EQ(recv(a, buf, sizeof buf, 0), 8);
	CHECK_MEM(buf, "peekaboo", 8);

	int s = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in sa = lo4(0);
	CHECK_OK(bind(s, (struct sockaddr *)&sa, sizeof sa));
	sa = lo4(port_of(s));
	int u = socket(AF_INET, SOCK_DGRAM, 0);
	CHECK_OK(connect(u, (struct sockaddr *)&sa, sizeof sa));
	CHECK_EQ(send(u, "0123456789", 10, 0), 10);
	CHECK_EQ(send(u, "abcdef", 6, 0), 6);
	CHECK_EQ(recv(s, buf, 3, MSG_PEEK), 3);
	CHECK_MEM(buf, "012", 3);
	CHECK_EQ(recv(s, buf, 4, MSG_PEEK | MSG_TRUNC), 10);
	CHECK_EQ(recv(s, buf, 4, MSG_TRUNC), 10);
	CHECK_MEM(buf, "0123", 4);

	struct iovec iov = {buf, 2};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
	CHECK_EQ(recvmsg(s, &m, 0), 2);
	CHECK(m.msg_flags & MSG_TRUNC);
	CHECK_MEM(buf, "ab", 2);
	CHECK_ERR(recv(s, buf, sizeof buf, MSG_DONTWAIT), EAGAIN);
	return 0;
}
