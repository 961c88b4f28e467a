// udp6_dontfrag: IPV6_DONTFRAG. A UDP datagram to an IPv6 destination
// that does not fit the route's MTU (lo's 65536: 65488 bytes of payload
// after the IPv6 and UDP headers) fails with EMSGSIZE instead of leaving
// in fragments; one that fits goes; the option is kept for getsockopt,
// and sendmsg's IPV6_DONTFRAG message (0 or 1) overrides it for one
// datagram.
//
//go:build ignore

#include "check.h"
#include "inet_check.h"
#include <netinet/in.h>
#include <sys/socket.h>

#define FITS 65488

static char payload[FITS + 1];

// send_df sends n bytes to ::1 port, with an IPV6_DONTFRAG message of
// value df unless df is -1; returns the count or -errno.
static long send_df(int s, int port, size_t n, int df) {
	struct sockaddr_in6 to = lo6(port);
	struct iovec iov = {payload, n};
	char control[CMSG_SPACE(sizeof(int))] = {0};
	struct msghdr m = {.msg_name = &to, .msg_namelen = sizeof to, .msg_iov = &iov, .msg_iovlen = 1};
	if (df != -1) {
		m.msg_control = control;
		m.msg_controllen = sizeof control;
		struct cmsghdr *c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = IPPROTO_IPV6;
		c->cmsg_type = IPV6_DONTFRAG;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &df, sizeof df);
	}
	long r = sendmsg(s, &m, 0);
	return r < 0 ? -errno : r;
}

// arrives checks that r gets a datagram of n bytes.
static void arrives(int r, size_t n) {
	static char buf[FITS + 64];
	CHECK(poll1(r, POLLIN, 5000) & POLLIN);
	CHECK_EQ(recv(r, buf, sizeof buf, 0), (ssize_t)n);
}

int main(void) {
	int r = socket(AF_INET6, SOCK_DGRAM, 0);
	bind_lo(r, AF_INET6, 0);
	setint(r, SOL_SOCKET, SO_RCVBUF, 1 << 20);
	int port = port_of(r);
	int s = socket(AF_INET6, SOCK_DGRAM, 0);

	CHECK_EQ(getint(s, IPPROTO_IPV6, IPV6_DONTFRAG), 0);
	// Fragmented without the option.
	CHECK_EQ(send_df(s, port, FITS + 1, -1), FITS + 1);
	arrives(r, FITS + 1);

	setint(s, IPPROTO_IPV6, IPV6_DONTFRAG, 1);
	CHECK_EQ(getint(s, IPPROTO_IPV6, IPV6_DONTFRAG), 1);
	CHECK_EQ(send_df(s, port, FITS + 1, -1), -EMSGSIZE);
	CHECK_EQ(send_df(s, port, FITS, -1), FITS);
	arrives(r, FITS);
	// The message overrides the option, both ways.
	CHECK_EQ(send_df(s, port, FITS + 1, 0), FITS + 1);
	arrives(r, FITS + 1);
	setint(s, IPPROTO_IPV6, IPV6_DONTFRAG, 0);
	CHECK_EQ(send_df(s, port, FITS + 1, 1), -EMSGSIZE);
	CHECK_EQ(send_df(s, port, 10, 2), -EINVAL);
	CHECK_EQ(send_df(s, port, 10, 1), 10);
	arrives(r, 10);

	// A TCP socket keeps the option too.
	int t = socket(AF_INET6, SOCK_STREAM, 0);
	setint(t, IPPROTO_IPV6, IPV6_DONTFRAG, 1);
	CHECK_EQ(getint(t, IPPROTO_IPV6, IPV6_DONTFRAG), 1);
	return 0;
}
