// udp_segment: UDP segmentation offload (UDP_SEGMENT), as QUIC stacks use
// it. The option and the per-send control message (a u16) give a segment
// size; one send of more data than that leaves as several datagrams of
// that size, the last one shorter, which a receiver without UDP_GRO reads
// one by one. A control message of 0 turns it off for that send. A first
// segment that does not fit the path's MTU with the IP and UDP headers is
// EMSGSIZE (segments are never fragmented), more segments than
// UDP_MAX_SEGMENTS EINVAL, and more than 65507 bytes (IPv4) EMSGSIZE. The options of
// SOL_UDP (and SOL_UDPLITE on a UDP socket) read back as udp_lib_getsockopt
// answers: UDP_SEGMENT's size, UDP_GRO as a flag, the UDP-Lite coverages as
// 0; the rest are ENOPROTOOPT, and a TCP socket has no such level.
//
//go:build ignore

#include "inet_check.h"
#include <netinet/udp.h>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif
#ifndef SOL_UDPLITE
#define SOL_UDPLITE 136
#endif
#define UDPLITE_SEND_CSCOV 10
#define UDPLITE_RECV_CSCOV 11

// UDP_MAX_SEGMENTS of Linux since 6.9 (64 before).
#define MAX_SEGMENTS 128

static unsigned char data[70000];

// send_gso sends n bytes of data on fd to the address, with a UDP_SEGMENT
// control message of gso (or none when gso < 0), and returns the byte
// count or -errno.
static long send_gso(int fd, const void *to, socklen_t tolen, size_t n, int gso) {
	struct iovec iov = {data, n};
	union {
		char buf[CMSG_SPACE(sizeof(uint16_t))];
		struct cmsghdr align;
	} u;
	memset(&u, 0, sizeof u);
	struct msghdr m = {.msg_name = (void *)to, .msg_namelen = tolen, .msg_iov = &iov, .msg_iovlen = 1};
	if (gso >= 0) {
		m.msg_control = u.buf;
		m.msg_controllen = sizeof u.buf;
		struct cmsghdr *c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_UDP;
		c->cmsg_type = UDP_SEGMENT;
		c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
		*(uint16_t *)CMSG_DATA(c) = gso;
	}
	long r = sendmsg(fd, &m, 0);
	return r < 0 ? -errno : r;
}

// expect_datagrams reads datagrams of the sizes given from r, checking
// each one's bytes continue data from offset 0, and then that none is left.
static void expect_datagrams(int r, const int *sizes, int count) {
	static unsigned char buf[70000];
	size_t off = 0;
	for (int i = 0; i < count; i++) {
		CHECK(poll1(r, POLLIN, 2000) & POLLIN);
		ssize_t got = recv(r, buf, sizeof buf, MSG_DONTWAIT);
		if (got != sizes[i])
			FAIL("datagram %d: %zd bytes, want %d", i, got, sizes[i]);
		CHECK_MEM(buf, data + off, (size_t)got);
		off += got;
	}
	CHECK_ERR(recv(r, buf, sizeof buf, MSG_DONTWAIT), EAGAIN);
}

static void options(int fd) {
	CHECK_EQ(getint(fd, SOL_UDP, UDP_SEGMENT), 0);
	setint(fd, SOL_UDP, UDP_SEGMENT, 1400);
	CHECK_EQ(getint(fd, SOL_UDP, UDP_SEGMENT), 1400);
	CHECK_EQ(getint(fd, SOL_UDPLITE, UDP_SEGMENT), 1400);
	int v = -1;
	CHECK_ERR(setsockopt(fd, SOL_UDP, UDP_SEGMENT, &v, sizeof v), EINVAL);
	v = 65536;
	CHECK_ERR(setsockopt(fd, SOL_UDP, UDP_SEGMENT, &v, sizeof v), EINVAL);
	uint16_t short_v = 10;
	CHECK_ERR(setsockopt(fd, SOL_UDP, UDP_SEGMENT, &short_v, sizeof short_v), EINVAL);
	CHECK_EQ(getint(fd, SOL_UDP, UDP_SEGMENT), 1400);
	setint(fd, SOL_UDP, UDP_SEGMENT, 0);

	CHECK_EQ(getint(fd, SOL_UDP, UDP_GRO), 0);
	setint(fd, SOL_UDP, UDP_GRO, 7);
	CHECK_EQ(getint(fd, SOL_UDP, UDP_GRO), 1);
	setint(fd, SOL_UDPLITE, UDP_GRO, 0);
	CHECK_EQ(getint(fd, SOL_UDP, UDP_GRO), 0);

	CHECK_EQ(getint(fd, SOL_UDP, UDPLITE_SEND_CSCOV), 0);
	CHECK_EQ(getint(fd, SOL_UDP, UDPLITE_RECV_CSCOV), 0);
	v = 8;
	CHECK_ERR(setsockopt(fd, SOL_UDP, UDPLITE_SEND_CSCOV, &v, sizeof v), ENOPROTOOPT);
	CHECK_ERR(setsockopt(fd, SOL_UDP, 999, &v, sizeof v), ENOPROTOOPT);
	socklen_t l = sizeof v;
	CHECK_ERR(getsockopt(fd, SOL_UDP, 999, &v, &l), ENOPROTOOPT);
	// A short read gets the first bytes, as for other int options.
	unsigned char one = 0xff;
	l = 1;
	setint(fd, SOL_UDP, UDP_SEGMENT, 0x0102);
	CHECK_OK(getsockopt(fd, SOL_UDP, UDP_SEGMENT, &one, &l));
	CHECK_EQ(l, 1);
	CHECK_EQ(one, 0x02);
	setint(fd, SOL_UDP, UDP_SEGMENT, 0);
}

static void tcp_has_no_udp_level(int family) {
	int t = socket(family, SOCK_STREAM, 0);
	CHECK(t >= 0);
	int v = 100;
	socklen_t l = sizeof v;
	CHECK_ERR(setsockopt(t, SOL_UDP, UDP_SEGMENT, &v, sizeof v), ENOPROTOOPT);
	CHECK_ERR(getsockopt(t, SOL_UDP, UDP_SEGMENT, &v, &l), family == AF_INET ? EOPNOTSUPP : ENOPROTOOPT);
	close(t);
}

static void segments(int family) {
	int r = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int w = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	CHECK(r >= 0 && w >= 0);
	int big = 4 << 20;
	setsockopt(r, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
	struct sockaddr_storage to;
	socklen_t tolen;
	// hlen: the IP and UDP headers, which with the segment size must fit
	// loopback's MTU of 65536.
	int hlen;
	if (family == AF_INET) {
		struct sockaddr_in a = lo4(0);
		CHECK_OK(bind(r, (struct sockaddr *)&a, sizeof a));
		a = lo4(port_of(r));
		memcpy(&to, &a, sizeof a);
		tolen = sizeof a;
		hlen = 20 + 8;
	} else {
		struct sockaddr_in6 a = lo6(0);
		CHECK_OK(bind(r, (struct sockaddr *)&a, sizeof a));
		a = lo6(port_of(r));
		memcpy(&to, &a, sizeof a);
		tolen = sizeof a;
		hlen = 40 + 8;
	}
	options(w);

	// The control message.
	CHECK_EQ(send_gso(w, &to, tolen, 250, 100), 250);
	expect_datagrams(r, (int[]){100, 100, 50}, 3);
	CHECK_EQ(send_gso(w, &to, tolen, 300, 100), 300);
	expect_datagrams(r, (int[]){100, 100, 100}, 3);
	CHECK_EQ(send_gso(w, &to, tolen, 60, 100), 60);
	expect_datagrams(r, (int[]){60}, 1);

	// The option; a control message of 0 turns it off for one send.
	setint(w, SOL_UDP, UDP_SEGMENT, 4);
	CHECK_EQ(send_gso(w, &to, tolen, 10, -1), 10);
	expect_datagrams(r, (int[]){4, 4, 2}, 3);
	CHECK_EQ(send_gso(w, &to, tolen, 10, 0), 10);
	expect_datagrams(r, (int[]){10}, 1);
	CHECK_EQ(send_gso(w, &to, tolen, 10, 3), 10);
	expect_datagrams(r, (int[]){3, 3, 3, 1}, 4);

	// A connected socket's plain send.
	CHECK_OK(connect(w, (struct sockaddr *)&to, tolen));
	CHECK_EQ(send(w, data, 9, 0), 9);
	expect_datagrams(r, (int[]){4, 4, 1}, 3);
	setint(w, SOL_UDP, UDP_SEGMENT, 0);

	// Limits: the first segment with its headers must fit the MTU
	// (EMSGSIZE), where a datagram sent without a segment size would be
	// fragmented; at most MAX_SEGMENTS of them (EINVAL).
	CHECK_EQ(send_gso(w, &to, tolen, 100, 65536 - hlen + 1), 100);
	expect_datagrams(r, (int[]){100}, 1);
	if (family == AF_INET6) {
		CHECK_EQ(send_gso(w, &to, tolen, 65536 - hlen + 1, 65536 - hlen + 1), -EMSGSIZE);
		CHECK_EQ(send_gso(w, &to, tolen, 65536 - hlen + 1, 65536 - hlen), 65536 - hlen + 1);
		expect_datagrams(r, (int[]){65536 - hlen, 1}, 2);
		CHECK_EQ(send_gso(w, &to, tolen, 65536 - hlen + 1, 0), 65536 - hlen + 1);
		expect_datagrams(r, (int[]){65536 - hlen + 1}, 1);
	}
	CHECK_EQ(send_gso(w, &to, tolen, MAX_SEGMENTS, 1), MAX_SEGMENTS);
	int ones[MAX_SEGMENTS];
	for (int i = 0; i < MAX_SEGMENTS; i++)
		ones[i] = 1;
	expect_datagrams(r, ones, MAX_SEGMENTS);
	CHECK_EQ(send_gso(w, &to, tolen, MAX_SEGMENTS + 1, 1), -EINVAL);
	if (family == AF_INET)
		CHECK_EQ(send_gso(w, &to, tolen, 65508, 1000), -EMSGSIZE);
	CHECK_ERR(recv(r, data, 1, MSG_DONTWAIT), EAGAIN);

	// A control message whose data is not a u16.
	int wide = 10;
	struct iovec iov = {data, 20};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	memset(&u, 0, sizeof u);
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_UDP;
	c->cmsg_type = UDP_SEGMENT;
	c->cmsg_len = CMSG_LEN(sizeof wide);
	memcpy(CMSG_DATA(c), &wide, sizeof wide);
	CHECK_ERR(sendmsg(w, &m, 0), EINVAL);
	close(r);
	close(w);
}

int main(void) {
	for (size_t i = 0; i < sizeof data; i++)
		data[i] = i * 7 + (i >> 8);
	segments(AF_INET);
	segments(AF_INET6);
	tcp_has_no_udp_level(AF_INET);
	tcp_has_no_udp_level(AF_INET6);
	return 0;
}
