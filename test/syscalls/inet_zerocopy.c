// inet_zerocopy: SO_ZEROCOPY and MSG_ZEROCOPY. The option is TCP's and
// UDP's, 0 or 1 (EINVAL otherwise); AF_UNIX refuses it (EOPNOTSUPP) and
// reads it as 0. Without it MSG_ZEROCOPY is ignored; with it each send
// flagged MSG_ZEROCOPY that sends data gets the next number from 0 (an
// empty one none), and the error queue reports them done (POLLERR) in
// ranges: no data and no address, and as control message IP_RECVERR
// (IPV6_RECVERR on an IPv6 socket) a struct sock_extended_err of origin
// SO_EE_ORIGIN_ZEROCOPY, no errno, the range's first number as ee_info
// and its last as ee_data, and a zeroed offender. Over loopback the data
// is copied, which the code says. SO_ERROR stays 0.
//
//go:build ignore

#include "inet_check.h"
#include "net_sysctl_check.h"
#include <linux/errqueue.h>

#ifndef SO_ZEROCOPY
#define SO_ZEROCOPY 60
#endif
#ifndef MSG_ZEROCOPY
#define MSG_ZEROCOPY 0x4000000
#endif

// reports takes zerocopy reports off s's error queue until sends 0 to
// n-1 are all reported, checking each.
static void reports(int s, int family, unsigned n) {
	unsigned next = 0;
	while (next < n) {
		CHECK(poll1(s, 0, 5000) & POLLERR);
		char control[256];
		struct sockaddr_storage from;
		char data[16];
		struct iovec iov = {.iov_base = data, .iov_len = sizeof data};
		struct msghdr m = {.msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control};
		CHECK_EQ(recvmsg(s, &m, MSG_ERRQUEUE), 0);
		CHECK_EQ(m.msg_flags & MSG_ERRQUEUE, MSG_ERRQUEUE);
		CHECK_EQ(m.msg_namelen, 0);
		struct cmsghdr *c = CMSG_FIRSTHDR(&m);
		CHECK(c != NULL);
		size_t offender = family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
		CHECK_EQ(c->cmsg_level, family == AF_INET ? SOL_IP : SOL_IPV6);
		CHECK_EQ(c->cmsg_type, family == AF_INET ? IP_RECVERR : IPV6_RECVERR);
		CHECK_EQ(c->cmsg_len, CMSG_LEN(sizeof(struct sock_extended_err) + offender));
		struct sock_extended_err ee;
		memcpy(&ee, CMSG_DATA(c), sizeof ee);
		CHECK_EQ(ee.ee_errno, 0);
		CHECK_EQ(ee.ee_origin, SO_EE_ORIGIN_ZEROCOPY);
		CHECK_EQ(ee.ee_type, 0);
		CHECK_EQ(ee.ee_code, SO_EE_CODE_ZEROCOPY_COPIED);
		CHECK_EQ(ee.ee_info, next);
		CHECK(ee.ee_data >= ee.ee_info && ee.ee_data < n);
		char zero[sizeof(struct sockaddr_in6)] = {0};
		CHECK_MEM((char *)CMSG_DATA(c) + sizeof ee, zero, offender);
		CHECK(CMSG_NXTHDR(&m, c) == NULL);
		next = ee.ee_data + 1;
	}
	char b;
	CHECK_ERR(recv(s, &b, 1, MSG_ERRQUEUE), EAGAIN);
	CHECK_EQ(poll1(s, 0, 0) & POLLERR, 0);
	CHECK_EQ(getint(s, SOL_SOCKET, SO_ERROR), 0);
}

static void tcp(int family) {
	int c, a;
	tcp_pair(family, &c, &a);
	char buf[1000];
	memset(buf, 'z', sizeof buf);
	// Without the option MSG_ZEROCOPY is a plain send.
	CHECK_EQ(getint(c, SOL_SOCKET, SO_ZEROCOPY), 0);
	CHECK_EQ(send(c, buf, 100, MSG_ZEROCOPY), 100);
	setint(c, SOL_SOCKET, SO_ZEROCOPY, 1);
	CHECK_EQ(getint(c, SOL_SOCKET, SO_ZEROCOPY), 1);
	for (int i = 0; i < 3; i++)
		CHECK_EQ(send(c, buf, sizeof buf, MSG_ZEROCOPY), sizeof buf);
	CHECK_EQ(send(c, buf, 0, MSG_ZEROCOPY), 0); // nothing sent, no number
	CHECK_EQ(send(c, buf, 10, MSG_ZEROCOPY), 10);
	CHECK_EQ(send(c, buf, 10, 0), 10); // not flagged, no number
	size_t want = 100 + 3 * sizeof buf + 20, got = 0;
	while (got < want) {
		ssize_t n = recv(a, buf, sizeof buf, 0);
		CHECK(n > 0);
		got += n;
	}
	reports(c, family, 4);
	// Numbering goes on.
	CHECK_EQ(send(c, buf, 5, MSG_ZEROCOPY), 5);
	CHECK_EQ(recv(a, buf, sizeof buf, 0), 5);
	char control[256];
	struct msghdr m = {.msg_control = control, .msg_controllen = sizeof control};
	CHECK(poll1(c, 0, 5000) & POLLERR);
	CHECK_EQ(recvmsg(c, &m, MSG_ERRQUEUE), 0);
	struct sock_extended_err ee;
	memcpy(&ee, CMSG_DATA(CMSG_FIRSTHDR(&m)), sizeof ee);
	CHECK_EQ(ee.ee_info, 4);
	CHECK_EQ(ee.ee_data, 4);
	close(c);
	close(a);
}

static void udp(int family) {
	int r = socket(family, SOCK_DGRAM, 0), s = socket(family, SOCK_DGRAM, 0);
	CHECK(r >= 0 && s >= 0);
	bind_lo(r, family, 0);
	CHECK_OK(connect_to(s, family, port_of(r)));
	setint(s, SOL_SOCKET, SO_ZEROCOPY, 1);
	for (int i = 0; i < 3; i++)
		CHECK_EQ(send(s, "dgram", 5, MSG_ZEROCOPY), 5);
	char b[16];
	for (int i = 0; i < 3; i++)
		CHECK_EQ(recv(r, b, sizeof b, 0), 5);
	reports(s, family, 3);
	close(r);
	close(s);
}

int main(void) {
	enter_netns();
	lo_up();
	int t = socket(AF_INET, SOCK_STREAM, 0);
	int v = 2;
	CHECK_ERR(setsockopt(t, SOL_SOCKET, SO_ZEROCOPY, &v, sizeof v), EINVAL);
	v = -1;
	CHECK_ERR(setsockopt(t, SOL_SOCKET, SO_ZEROCOPY, &v, sizeof v), EINVAL);
	v = 1;
	CHECK_ERR(setsockopt(t, SOL_SOCKET, SO_ZEROCOPY, &v, 2), EINVAL);
	setint(t, SOL_SOCKET, SO_ZEROCOPY, 0);
	CHECK_EQ(getint(t, SOL_SOCKET, SO_ZEROCOPY), 0);
	close(t);
	int u = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK_ERR(setsockopt(u, SOL_SOCKET, SO_ZEROCOPY, &v, sizeof v), EOPNOTSUPP);
	CHECK_EQ(getint(u, SOL_SOCKET, SO_ZEROCOPY), 0);
	close(u);

	tcp(AF_INET);
	tcp(AF_INET6);
	udp(AF_INET);
	udp(AF_INET6);
	return 0;
}
