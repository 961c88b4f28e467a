// udp_recv_cmsg: the options that ask recvmsg for ancillary data on a UDP
// socket deliver it in Linux's order and layout. An IPv4 socket with
// SO_TIMESTAMP, IP_PKTINFO, IP_RECVTTL, IP_RECVTOS and IP_RECVORIGDSTADDR
// gets the receive time, the interface and addresses, the sender's TTL
// and TOS (one byte) and the destination; a dual-stack IPv6 socket with
// IPV6_RECVPKTINFO, IP_PKTINFO, IPV6_RECVHOPLIMIT and IPV6_RECVTCLASS
// gets IPV6_PKTINFO (IPv4-mapped) then IP_PKTINFO for an IPv4 datagram,
// and IPV6_PKTINFO, the hop limit and the traffic class for an IPv6 one.
// A control buffer too small is cut as put_cmsg cuts it (MSG_CTRUNC).
// getsockopt reads the options back; a TCP socket takes them too.
// sendmsg takes IP_TTL, IP_TOS (an int or a byte), IP_PKTINFO,
// IPV6_HOPLIMIT, IPV6_TCLASS and IPV6_PKTINFO for the one datagram, and
// refuses bad values, a source address the sandbox does not have
// (ENETUNREACH for IPv4, EINVAL for IPv6), an interface that does not
// exist (ENODEV); SCM_RIGHTS is passed over; a
// TCP socket ignores IP control messages.
//
//go:build ignore

#include "inet_check.h"
#include <sys/time.h>

struct got {
	int level, type;
	size_t len;
	unsigned char data[64];
};

// recv_cmsgs receives one datagram on fd with a control buffer of
// space bytes and returns its control messages in order.
static int recv_cmsgs(int fd, size_t space, struct got *out, int max, int *mflags, size_t *controllen) {
	char payload[64];
	struct iovec iov = {payload, sizeof payload};
	static char control[1024];
	memset(control, 0, sizeof control);
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = space};
	CHECK(recvmsg(fd, &m, 0) == 3);
	*mflags = m.msg_flags;
	*controllen = m.msg_controllen;
	int n = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c && n < max; c = CMSG_NXTHDR(&m, c)) {
		out[n].level = c->cmsg_level;
		out[n].type = c->cmsg_type;
		out[n].len = c->cmsg_len;
		size_t d = c->cmsg_len - CMSG_LEN(0);
		memcpy(out[n].data, CMSG_DATA(c), d < sizeof out[n].data ? d : sizeof out[n].data);
		n++;
	}
	return n;
}

static void expect(struct got *g, int level, int type, size_t datalen) {
	if (g->level != level || g->type != type || g->len != CMSG_LEN(datalen))
		FAIL("cmsg level %d type %d len %zu, want %d %d %zu", g->level, g->type, g->len, level, type, CMSG_LEN(datalen));
}

static void on(int fd, int level, int name) {
	setint(fd, level, name, 1);
	CHECK_EQ(getint(fd, level, name), 1);
}

// sendctl sends "abc" on fd to the address with one control message
// and returns 0 or the errno.
static int sendctl(int fd, const void *to, socklen_t tolen, int level, int type, const void *data, size_t len) {
	char payload[] = "abc";
	struct iovec iov = {payload, 3};
	union {
		char buf[CMSG_SPACE(64)];
		struct cmsghdr align;
	} u;
	memset(&u, 0, sizeof u);
	struct msghdr m = {.msg_name = (void *)to, .msg_namelen = tolen, .msg_iov = &iov, .msg_iovlen = 1,
			   .msg_control = u.buf, .msg_controllen = CMSG_SPACE(len)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = level;
	c->cmsg_type = type;
	c->cmsg_len = CMSG_LEN(len);
	memcpy(CMSG_DATA(c), data, len);
	if (sendmsg(fd, &m, 0) == 3)
		return 0;
	return errno;
}

static void send_ipv4(int r, int w, struct sockaddr_in *to) {
	struct got g[8];
	int mflags;
	size_t clen;
	int ttl = 9;
	unsigned char tos = 0x21;
	CHECK_EQ(sendctl(w, to, sizeof *to, SOL_IP, IP_TTL, &ttl, sizeof ttl), 0);
	CHECK_EQ(sendctl(w, to, sizeof *to, SOL_IP, IP_TOS, &tos, 1), 0);
	struct in_pktinfo pi = {.ipi_ifindex = 1, .ipi_spec_dst.s_addr = htonl(INADDR_LOOPBACK)};
	CHECK_EQ(sendctl(w, to, sizeof *to, SOL_IP, IP_PKTINFO, &pi, sizeof pi), 0);
	CHECK(sendto(w, "abc", 3, 0, (struct sockaddr *)to, sizeof *to) == 3);
	// TTL, then TOS; then the socket's own values again.
	int want[4][2] = {{9, 0x20}, {33, 0x21}, {33, 0x20}, {33, 0x20}};
	for (int i = 0; i < 4; i++) {
		CHECK_EQ(recv_cmsgs(r, 1024, g, 8, &mflags, &clen), 5);
		expect(&g[2], SOL_IP, IP_TTL, sizeof(int));
		CHECK_EQ(*(int *)g[2].data, want[i][0]);
		expect(&g[3], SOL_IP, IP_TOS, 1);
		CHECK_EQ(g[3].data[0], want[i][1]);
	}
	int bad = 0;
	CHECK_EQ(sendctl(w, to, sizeof *to, SOL_IP, IP_TTL, &bad, sizeof bad), EINVAL);
	bad = 256;
	CHECK_EQ(sendctl(w, to, sizeof *to, SOL_IP, IP_TOS, &bad, sizeof bad), EINVAL);
	CHECK_EQ(sendctl(w, to, sizeof *to, SOL_IP, 99, &bad, sizeof bad), EINVAL);
	CHECK_EQ(sendctl(w, to, sizeof *to, SOL_IP, IP_PKTINFO, &pi, 8), EINVAL);
	struct in_pktinfo far = {.ipi_spec_dst.s_addr = htonl(0x0a0b0c0d)};
	CHECK_EQ(sendctl(w, to, sizeof *to, SOL_IP, IP_PKTINFO, &far, sizeof far), ENETUNREACH);
	struct in_pktinfo nodev = {.ipi_ifindex = 999};
	CHECK_EQ(sendctl(w, to, sizeof *to, SOL_IP, IP_PKTINFO, &nodev, sizeof nodev), ENODEV);
	// SCM_RIGHTS is passed over.
	int fd = 0;
	CHECK_EQ(sendctl(w, to, sizeof *to, SOL_SOCKET, SCM_RIGHTS, &fd, sizeof fd), 0);
	CHECK_EQ(recv_cmsgs(r, 1024, g, 8, &mflags, &clen), 5);
}

static void ipv4(void) {
	int r = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	CHECK(r >= 0);
	struct sockaddr_in a = lo4(0);
	CHECK_OK(bind(r, (struct sockaddr *)&a, sizeof a));
	int port = port_of(r);
	CHECK_EQ(getint(r, SOL_IP, IP_PKTINFO), 0);
	on(r, SOL_SOCKET, SO_TIMESTAMP);
	on(r, SOL_IP, IP_PKTINFO);
	on(r, SOL_IP, IP_RECVTTL);
	on(r, SOL_IP, IP_RECVTOS);
	on(r, SOL_IP, IP_RECVORIGDSTADDR);

	int w = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	CHECK(w >= 0);
	setint(w, SOL_IP, IP_TTL, 33);
	setint(w, SOL_IP, IP_TOS, 0x20);
	struct sockaddr_in to = lo4(port);
	for (int i = 0; i < 3; i++)
		CHECK(sendto(w, "abc", 3, 0, (struct sockaddr *)&to, sizeof to) == 3);

	struct timeval now;
	gettimeofday(&now, NULL);
	struct got g[8];
	int mflags;
	size_t clen;
	CHECK_EQ(recv_cmsgs(r, 1024, g, 8, &mflags, &clen), 5);
	CHECK_EQ(mflags & MSG_CTRUNC, 0);
	CHECK_EQ(clen, CMSG_SPACE(sizeof(struct timeval)) + CMSG_SPACE(sizeof(struct in_pktinfo)) +
			       CMSG_SPACE(sizeof(int)) + CMSG_SPACE(1) + CMSG_SPACE(sizeof(struct sockaddr_in)));
	expect(&g[0], SOL_SOCKET, SCM_TIMESTAMP, sizeof(struct timeval));
	struct timeval tv;
	memcpy(&tv, g[0].data, sizeof tv);
	CHECK(tv.tv_sec > now.tv_sec - 10 && tv.tv_sec <= now.tv_sec + 1 && tv.tv_usec >= 0 && tv.tv_usec < 1000000);
	expect(&g[1], SOL_IP, IP_PKTINFO, sizeof(struct in_pktinfo));
	struct in_pktinfo pi;
	memcpy(&pi, g[1].data, sizeof pi);
	CHECK_EQ(pi.ipi_ifindex, 1);
	CHECK_EQ(ntohl(pi.ipi_spec_dst.s_addr), INADDR_LOOPBACK);
	CHECK_EQ(ntohl(pi.ipi_addr.s_addr), INADDR_LOOPBACK);
	expect(&g[2], SOL_IP, IP_TTL, sizeof(int));
	CHECK_EQ(*(int *)g[2].data, 33);
	expect(&g[3], SOL_IP, IP_TOS, 1);
	CHECK_EQ(g[3].data[0], 0x20);
	expect(&g[4], SOL_IP, IP_ORIGDSTADDR, sizeof(struct sockaddr_in));
	struct sockaddr_in od;
	memcpy(&od, g[4].data, sizeof od);
	CHECK_EQ(od.sin_family, AF_INET);
	CHECK_EQ(ntohs(od.sin_port), port);
	CHECK_EQ(ntohl(od.sin_addr.s_addr), INADDR_LOOPBACK);

	// Room for the timestamp and part of the packet info: the latter
	// keeps its header (with the length cut) and what fits, and the
	// rest goes.
	size_t space = CMSG_SPACE(sizeof(struct timeval)) + CMSG_LEN(4);
	CHECK_EQ(recv_cmsgs(r, space, g, 8, &mflags, &clen), 2);
	CHECK(mflags & MSG_CTRUNC);
	CHECK_EQ(clen, space);
	expect(&g[1], SOL_IP, IP_PKTINFO, 4);
	// No room at all.
	CHECK_EQ(recv_cmsgs(r, 0, g, 8, &mflags, &clen), 0);
	CHECK(mflags & MSG_CTRUNC);
	CHECK_EQ(clen, 0);

	send_ipv4(r, w, &to);

	// Off again: nothing but the timestamp.
	setint(r, SOL_IP, IP_PKTINFO, 0);
	setint(r, SOL_IP, IP_RECVTTL, 0);
	setint(r, SOL_IP, IP_RECVTOS, 0);
	setint(r, SOL_IP, IP_RECVORIGDSTADDR, 0);
	CHECK(sendto(w, "abc", 3, 0, (struct sockaddr *)&to, sizeof to) == 3);
	CHECK_EQ(recv_cmsgs(r, 1024, g, 8, &mflags, &clen), 1);
	expect(&g[0], SOL_SOCKET, SCM_TIMESTAMP, sizeof(struct timeval));
	// SO_TIMESTAMPNS replaces it with a timespec.
	on(r, SOL_SOCKET, SO_TIMESTAMPNS);
	CHECK_EQ(getint(r, SOL_SOCKET, SO_TIMESTAMP), 0);
	CHECK(sendto(w, "abc", 3, 0, (struct sockaddr *)&to, sizeof to) == 3);
	CHECK_EQ(recv_cmsgs(r, 1024, g, 8, &mflags, &clen), 1);
	expect(&g[0], SOL_SOCKET, SCM_TIMESTAMPNS, sizeof(struct timespec));
	close(w);
	close(r);
}

static void dual_stack(void) {
	int r = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	CHECK(r >= 0);
	struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_addr = in6addr_any};
	CHECK_OK(bind(r, (struct sockaddr *)&a, sizeof a));
	int port = port_of(r);
	on(r, SOL_IPV6, IPV6_RECVPKTINFO);
	on(r, SOL_IP, IP_PKTINFO);
	on(r, SOL_IPV6, IPV6_RECVHOPLIMIT);
	on(r, SOL_IPV6, IPV6_RECVTCLASS);

	int w4 = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	CHECK(w4 >= 0);
	struct sockaddr_in to4 = lo4(port);
	CHECK(sendto(w4, "abc", 3, 0, (struct sockaddr *)&to4, sizeof to4) == 3);
	struct got g[8];
	int mflags;
	size_t clen;
	CHECK_EQ(recv_cmsgs(r, 1024, g, 8, &mflags, &clen), 2);
	expect(&g[0], SOL_IPV6, IPV6_PKTINFO, sizeof(struct in6_pktinfo));
	struct in6_pktinfo p6;
	memcpy(&p6, g[0].data, sizeof p6);
	CHECK(IN6_IS_ADDR_V4MAPPED(&p6.ipi6_addr));
	CHECK_EQ(ntohl(p6.ipi6_addr.s6_addr32[3]), INADDR_LOOPBACK);
	CHECK_EQ(p6.ipi6_ifindex, 1);
	expect(&g[1], SOL_IP, IP_PKTINFO, sizeof(struct in_pktinfo));

	int w6 = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	CHECK(w6 >= 0);
	setint(w6, SOL_IPV6, IPV6_UNICAST_HOPS, 7);
	setint(w6, SOL_IPV6, IPV6_TCLASS, 0x28);
	struct sockaddr_in6 to6 = lo6(port);
	CHECK(sendto(w6, "abc", 3, 0, (struct sockaddr *)&to6, sizeof to6) == 3);
	CHECK_EQ(recv_cmsgs(r, 1024, g, 8, &mflags, &clen), 3);
	expect(&g[0], SOL_IPV6, IPV6_PKTINFO, sizeof(struct in6_pktinfo));
	memcpy(&p6, g[0].data, sizeof p6);
	CHECK(IN6_IS_ADDR_LOOPBACK(&p6.ipi6_addr));
	CHECK_EQ(p6.ipi6_ifindex, 1);
	expect(&g[1], SOL_IPV6, IPV6_HOPLIMIT, sizeof(int));
	CHECK_EQ(*(int *)g[1].data, 7);
	expect(&g[2], SOL_IPV6, IPV6_TCLASS, sizeof(int));
	CHECK_EQ(*(int *)g[2].data, 0x28);

	// Per datagram: the hop limit, the traffic class, the source.
	int hl = 5, tc = 0x2c;
	CHECK_EQ(sendctl(w6, &to6, sizeof to6, SOL_IPV6, IPV6_HOPLIMIT, &hl, sizeof hl), 0);
	CHECK_EQ(sendctl(w6, &to6, sizeof to6, SOL_IPV6, IPV6_TCLASS, &tc, sizeof tc), 0);
	struct in6_pktinfo src6 = {.ipi6_addr = in6addr_loopback};
	CHECK_EQ(sendctl(w6, &to6, sizeof to6, SOL_IPV6, IPV6_PKTINFO, &src6, sizeof src6), 0);
	int want[3][2] = {{5, 0x28}, {7, 0x2c}, {7, 0x28}};
	for (int i = 0; i < 3; i++) {
		CHECK_EQ(recv_cmsgs(r, 1024, g, 8, &mflags, &clen), 3);
		CHECK_EQ(*(int *)g[1].data, want[i][0]);
		CHECK_EQ(*(int *)g[2].data, want[i][1]);
	}
	struct in6_pktinfo far6 = {.ipi6_addr = {{{0x20, 0x01, 0x0d, 0xb8, [15] = 1}}}};
	CHECK_EQ(sendctl(w6, &to6, sizeof to6, SOL_IPV6, IPV6_PKTINFO, &far6, sizeof far6), EINVAL);
	hl = -2;
	CHECK_EQ(sendctl(w6, &to6, sizeof to6, SOL_IPV6, IPV6_HOPLIMIT, &hl, sizeof hl), EINVAL);
	// An IPv6 socket sending to an IPv4 address takes IP_PKTINFO and
	// an IPv4-mapped IPV6_PKTINFO.
	struct sockaddr_in6 mapped = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
	mapped.sin6_addr.s6_addr[10] = mapped.sin6_addr.s6_addr[11] = 0xff;
	mapped.sin6_addr.s6_addr32[3] = htonl(INADDR_LOOPBACK);
	struct in_pktinfo pi = {.ipi_spec_dst.s_addr = htonl(INADDR_LOOPBACK)};
	CHECK_EQ(sendctl(w6, &mapped, sizeof mapped, SOL_IP, IP_PKTINFO, &pi, sizeof pi), 0);
	struct in6_pktinfo msrc = {.ipi6_addr = mapped.sin6_addr};
	CHECK_EQ(sendctl(w6, &mapped, sizeof mapped, SOL_IPV6, IPV6_PKTINFO, &msrc, sizeof msrc), 0);
	for (int i = 0; i < 2; i++)
		CHECK_EQ(recv_cmsgs(r, 1024, g, 8, &mflags, &clen), 2);
	close(w4);
	close(w6);
	close(r);
}

int main(void) {
	ipv4();
	dual_stack();
	// A TCP socket takes the IP options (and delivers nothing), and
	// ignores IP control messages on send.
	int c, a;
	tcp_pair(AF_INET, &c, &a);
	on(c, SOL_IP, IP_PKTINFO);
	unsigned char tos = 0x10;
	CHECK_EQ(sendctl(c, NULL, 0, SOL_IP, IP_TOS, &tos, 1), 0);
	char buf[3];
	CHECK(read(a, buf, 3) == 3);
	close(c);
	close(a);
	return 0;
}
