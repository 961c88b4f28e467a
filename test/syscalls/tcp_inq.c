// tcp_inq: TCP_INQ, IPv4 and IPv6. It reads 0 until set, takes 0 or 1
// (EINVAL otherwise), and is ENOPROTOOPT on a UDP socket. Set, every
// recvmsg that returns data or the end of the stream carries a
// TCP_CM_INQ control message with the bytes still queued; a FIN received
// counts one more, before the end is read and after; a local
// shutdown(SHUT_RD) does not. A receive that fails carries none, nor
// does one without the option.
//
//go:build ignore

#include "inet_check.h"

// recv_inq receives up to len bytes into buf and returns their count;
// *inq is the TCP_CM_INQ value, or -1 without one.
static int recv_inq(int fd, char *buf, size_t len, int *inq) {
	char cbuf[64];
	struct iovec iov = {buf, len};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
	int n = recvmsg(fd, &m, MSG_DONTWAIT);
	*inq = -1;
	if (n < 0)
		return n;
	CHECK_EQ(m.msg_flags, 0);
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c != NULL; c = CMSG_NXTHDR(&m, c)) {
		CHECK_EQ(c->cmsg_level, SOL_TCP);
		CHECK_EQ(c->cmsg_type, TCP_CM_INQ);
		CHECK_EQ(c->cmsg_len, CMSG_LEN(sizeof(int)));
		CHECK_EQ(*inq, -1);
		memcpy(inq, CMSG_DATA(c), sizeof(int));
	}
	return n;
}

static void inq(int family) {
	int c, a;
	tcp_pair(family, &c, &a);
	CHECK_EQ(getint(a, SOL_TCP, TCP_INQ), 0);
	int bad = 2;
	CHECK_ERR(setsockopt(a, SOL_TCP, TCP_INQ, &bad, sizeof bad), EINVAL);
	bad = -1;
	CHECK_ERR(setsockopt(a, SOL_TCP, TCP_INQ, &bad, sizeof bad), EINVAL);

	char buf[16];
	int hint;
	// Off: no control message.
	CHECK_EQ(write(c, "0123456789", 10), 10);
	CHECK(poll1(a, POLLIN, 2000) & POLLIN);
	CHECK_EQ(recv_inq(a, buf, 4, &hint), 4);
	CHECK_EQ(hint, -1);

	setint(a, SOL_TCP, TCP_INQ, 1);
	CHECK_EQ(getint(a, SOL_TCP, TCP_INQ), 1);
	CHECK_EQ(recv_inq(a, buf, 4, &hint), 4);
	CHECK_MEM(buf, "4567", 4);
	CHECK_EQ(hint, 2);
	CHECK_EQ(recv_inq(a, buf, sizeof buf, &hint), 2);
	CHECK_EQ(hint, 0);
	// Nothing queued: EAGAIN, no message.
	CHECK_ERR(recv_inq(a, buf, sizeof buf, &hint), EAGAIN);
	CHECK_EQ(hint, -1);

	// Data, then the end: the FIN counts one.
	CHECK_EQ(write(c, "abc", 3), 3);
	CHECK_OK(shutdown(c, SHUT_WR));
	CHECK(poll1(a, POLLRDHUP, 2000) & POLLRDHUP);
	CHECK_EQ(recv_inq(a, buf, 1, &hint), 1);
	CHECK_EQ(hint, 3);
	CHECK_EQ(recv_inq(a, buf, sizeof buf, &hint), 2);
	CHECK_EQ(hint, 1);
	CHECK_EQ(recv_inq(a, buf, sizeof buf, &hint), 0);
	CHECK_EQ(hint, 1);
	CHECK_EQ(recv_inq(a, buf, sizeof buf, &hint), 0);
	CHECK_EQ(hint, 1);

	// Turned off again.
	setint(a, SOL_TCP, TCP_INQ, 0);
	CHECK_EQ(recv_inq(a, buf, sizeof buf, &hint), 0);
	CHECK_EQ(hint, -1);
	close(a);
	close(c);

	// A local shutdown(SHUT_RD) is no FIN: nothing is added.
	tcp_pair(family, &c, &a);
	setint(a, SOL_TCP, TCP_INQ, 1);
	CHECK_EQ(write(c, "xyz", 3), 3);
	CHECK(poll1(a, POLLIN, 2000) & POLLIN);
	CHECK_OK(shutdown(a, SHUT_RD));
	CHECK_EQ(recv_inq(a, buf, 1, &hint), 1);
	CHECK_EQ(hint, 2);
	close(a);
	close(c);

	int u = socket(family, SOCK_DGRAM, 0);
	CHECK(u >= 0);
	int one = 1;
	CHECK_ERR(setsockopt(u, SOL_TCP, TCP_INQ, &one, sizeof one), ENOPROTOOPT);
	close(u);
}

int main(void) {
	inq(AF_INET);
	inq(AF_INET6);
	return 0;
}
