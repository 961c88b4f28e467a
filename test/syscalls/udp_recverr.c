// udp_recverr: the error queue of a connected UDP socket with IP_RECVERR
// (IPv4) or IPV6_RECVERR (IPv6). A datagram to a port where nothing
// listens brings back an ICMP port unreachable: the socket polls
// POLLERR, and recvmsg(MSG_ERRQUEUE) returns the datagram's payload
// (MSG_ERRQUEUE in msg_flags, MSG_TRUNC when cut), where it was going as
// the address, and a sock_extended_err (ECONNREFUSED, the ICMP origin,
// type and code) with the offender's address. Taking the error clears
// SO_ERROR and POLLERR; the queue is then empty (EAGAIN). Without the
// option nothing is queued and SO_ERROR says ECONNREFUSED; turning the
// option off empties the queue. The options read back what was set. A
// datagram past the largest payload of its IP version is EMSGSIZE and
// queues a local error (no payload, the destination, the route's MTU as
// ee_info, no offender), except an IPv4 one past 64 KiB. An
// IPv6 socket's IPv4 traffic (a v4-mapped peer) queues its ICMP errors
// under IP_RECVERR, and reads them as IPV6_RECVERR messages.
//
//go:build ignore

#include "inet_check.h"

#include <linux/errqueue.h>

#ifndef SO_EE_ORIGIN_ICMP6
#define SO_EE_ORIGIN_ICMP6 3
#endif

// refused returns a UDP socket of the family connected to a closed port,
// with the error queue on or off, after one datagram went there and its
// ICMP error came back.
static int refused(int family, int recverr, int *port) {
	int s = socket(family, SOCK_DGRAM, 0);
	CHECK(s >= 0);
	if (family == AF_INET) {
		setint(s, SOL_IP, IP_RECVERR, recverr);
		CHECK_EQ(getint(s, SOL_IP, IP_RECVERR), recverr);
	} else {
		setint(s, SOL_IPV6, IPV6_RECVERR, recverr);
		CHECK_EQ(getint(s, SOL_IPV6, IPV6_RECVERR), recverr);
	}
	*port = free_port(family, SOCK_DGRAM);
	CHECK_OK(connect_to(s, family, *port));
	CHECK_EQ(send(s, "hello", 5, 0), 5);
	CHECK(poll1(s, POLLIN, 2000) & POLLERR);
	return s;
}

static void queued(int family) {
	int port;
	int s = refused(family, 1, &port);
	char buf[64], cbuf[256];
	struct sockaddr_storage from;
	struct iovec iov = {buf, sizeof buf};
	struct msghdr m = {.msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
	CHECK_EQ(recvmsg(s, &m, MSG_ERRQUEUE | MSG_DONTWAIT), 5);
	CHECK_MEM(buf, "hello", 5);
	CHECK_EQ(m.msg_flags, MSG_ERRQUEUE);
	CHECK_EQ(((struct sockaddr *)&from)->sa_family, family);
	if (family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&from;
		CHECK_EQ(m.msg_namelen, sizeof *a);
		CHECK_EQ(ntohs(a->sin_port), port);
		CHECK_EQ(a->sin_addr.s_addr, htonl(INADDR_LOOPBACK));
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&from;
		CHECK_EQ(m.msg_namelen, sizeof *a);
		CHECK_EQ(ntohs(a->sin6_port), port);
		CHECK(IN6_IS_ADDR_LOOPBACK(&a->sin6_addr));
	}
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	CHECK(c != NULL);
	struct sock_extended_err *ee = (struct sock_extended_err *)CMSG_DATA(c);
	CHECK_EQ(ee->ee_errno, ECONNREFUSED);
	CHECK_EQ(ee->ee_pad, 0);
	CHECK_EQ(ee->ee_info, 0);
	CHECK_EQ(ee->ee_data, 0);
	if (family == AF_INET) {
		CHECK_EQ(c->cmsg_level, SOL_IP);
		CHECK_EQ(c->cmsg_type, IP_RECVERR);
		CHECK_EQ(c->cmsg_len, CMSG_LEN(sizeof *ee + sizeof(struct sockaddr_in)));
		CHECK_EQ(ee->ee_origin, SO_EE_ORIGIN_ICMP);
		CHECK_EQ(ee->ee_type, 3); // ICMP_DEST_UNREACH
		CHECK_EQ(ee->ee_code, 3); // ICMP_PORT_UNREACH
		struct sockaddr_in *o = (struct sockaddr_in *)SO_EE_OFFENDER(ee);
		CHECK_EQ(o->sin_family, AF_INET);
		CHECK_EQ(o->sin_port, 0);
		CHECK_EQ(o->sin_addr.s_addr, htonl(INADDR_LOOPBACK));
	} else {
		CHECK_EQ(c->cmsg_level, SOL_IPV6);
		CHECK_EQ(c->cmsg_type, IPV6_RECVERR);
		CHECK_EQ(c->cmsg_len, CMSG_LEN(sizeof *ee + sizeof(struct sockaddr_in6)));
		CHECK_EQ(ee->ee_origin, SO_EE_ORIGIN_ICMP6);
		CHECK_EQ(ee->ee_type, 1); // ICMPV6_DEST_UNREACH
		CHECK_EQ(ee->ee_code, 4); // ICMPV6_PORT_UNREACH
		struct sockaddr_in6 *o = (struct sockaddr_in6 *)SO_EE_OFFENDER(ee);
		CHECK_EQ(o->sin6_family, AF_INET6);
		CHECK_EQ(o->sin6_port, 0);
		CHECK(IN6_IS_ADDR_LOOPBACK(&o->sin6_addr));
	}
	CHECK(CMSG_NXTHDR(&m, c) == NULL);
	CHECK_EQ(poll1(s, POLLIN, 0) & POLLERR, 0);
	CHECK_EQ(getint(s, SOL_SOCKET, SO_ERROR), 0);
	CHECK_ERR(recvmsg(s, &m, MSG_ERRQUEUE | MSG_DONTWAIT), EAGAIN);
	CHECK_ERR(recv(s, buf, sizeof buf, MSG_DONTWAIT), EAGAIN);
	close(s);
}

// truncated: a buffer shorter than the payload takes what fits.
static void truncated(int family) {
	int port;
	int s = refused(family, 1, &port);
	char buf[2];
	struct iovec iov = {buf, sizeof buf};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
	CHECK_EQ(recvmsg(s, &m, MSG_ERRQUEUE | MSG_DONTWAIT), 2);
	CHECK_MEM(buf, "he", 2);
	CHECK_EQ(m.msg_flags, MSG_ERRQUEUE | MSG_TRUNC | MSG_CTRUNC);
	close(s);
}

// not_queued: without the option the error is SO_ERROR's alone.
static void not_queued(int family) {
	int port;
	int s = refused(family, 0, &port);
	char buf[64];
	CHECK_ERR(recv(s, buf, sizeof buf, MSG_ERRQUEUE | MSG_DONTWAIT), EAGAIN);
	CHECK_EQ(getint(s, SOL_SOCKET, SO_ERROR), ECONNREFUSED);
	CHECK_EQ(poll1(s, POLLIN, 0) & POLLERR, 0);
	close(s);
}

// turned_off: clearing the option drops what the queue held.
static void turned_off(int family) {
	int port;
	int s = refused(family, 1, &port);
	if (family == AF_INET)
		setint(s, SOL_IP, IP_RECVERR, 0);
	else
		setint(s, SOL_IPV6, IPV6_RECVERR, 0);
	char buf[64];
	CHECK_ERR(recv(s, buf, sizeof buf, MSG_ERRQUEUE | MSG_DONTWAIT), EAGAIN);
	close(s);
}

// mapped: an AF_INET6 socket connected to ::ffff:127.0.0.1.
static void mapped(void) {
	int s = socket(AF_INET6, SOCK_DGRAM, 0);
	CHECK(s >= 0);
	setint(s, SOL_IP, IP_RECVERR, 1);
	struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons(free_port(AF_INET, SOCK_DGRAM))};
	CHECK_EQ(inet_pton(AF_INET6, "::ffff:127.0.0.1", &a.sin6_addr), 1);
	CHECK_OK(connect(s, (struct sockaddr *)&a, sizeof a));
	CHECK_EQ(send(s, "hello", 5, 0), 5);
	CHECK(poll1(s, POLLIN, 2000) & POLLERR);
	char buf[64], cbuf[256];
	struct sockaddr_in6 from;
	struct iovec iov = {buf, sizeof buf};
	struct msghdr m = {.msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
	CHECK_EQ(recvmsg(s, &m, MSG_ERRQUEUE | MSG_DONTWAIT), 5);
	CHECK_EQ(m.msg_flags, MSG_ERRQUEUE);
	CHECK_EQ(from.sin6_family, AF_INET6);
	CHECK_MEM(&from.sin6_addr, &a.sin6_addr, sizeof a.sin6_addr);
	CHECK_EQ(from.sin6_port, a.sin6_port);
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	CHECK(c != NULL);
	CHECK_EQ(c->cmsg_level, SOL_IPV6);
	CHECK_EQ(c->cmsg_type, IPV6_RECVERR);
	struct sock_extended_err *ee = (struct sock_extended_err *)CMSG_DATA(c);
	CHECK_EQ(ee->ee_errno, ECONNREFUSED);
	CHECK_EQ(ee->ee_origin, SO_EE_ORIGIN_ICMP);
	CHECK_EQ(ee->ee_type, 3);
	CHECK_EQ(ee->ee_code, 3);
	struct sockaddr_in6 *o = (struct sockaddr_in6 *)SO_EE_OFFENDER(ee);
	CHECK_EQ(o->sin6_family, AF_INET6);
	CHECK_MEM(&o->sin6_addr, &a.sin6_addr, sizeof a.sin6_addr);
	close(s);
}

// too_big: a datagram past the largest payload, to loopback.
static void too_big(int family) {
	static char big[70000];
	int s = socket(family, SOCK_DGRAM, 0);
	CHECK(s >= 0);
	if (family == AF_INET)
		setint(s, SOL_IP, IP_RECVERR, 1);
	else
		setint(s, SOL_IPV6, IPV6_RECVERR, 1);
	int port = free_port(family, SOCK_DGRAM);
	CHECK_OK(connect_to(s, family, port));
	int over = family == AF_INET ? 65508 : 65528;
	CHECK_ERR(send(s, big, over, 0), EMSGSIZE);
	CHECK(poll1(s, POLLIN, 0) & POLLERR);
	char buf[64], cbuf[256];
	struct sockaddr_storage to;
	struct iovec iov = {buf, sizeof buf};
	struct msghdr m = {.msg_name = &to, .msg_namelen = sizeof to, .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
	CHECK_EQ(recvmsg(s, &m, MSG_ERRQUEUE | MSG_DONTWAIT), 0);
	CHECK_EQ(m.msg_flags, MSG_ERRQUEUE);
	CHECK_EQ(((struct sockaddr *)&to)->sa_family, family);
	CHECK_EQ(port_of_addr(&to), port);
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	CHECK(c != NULL);
	CHECK_EQ(c->cmsg_type, family == AF_INET ? IP_RECVERR : IPV6_RECVERR);
	struct sock_extended_err *ee = (struct sock_extended_err *)CMSG_DATA(c);
	CHECK_EQ(ee->ee_errno, EMSGSIZE);
	CHECK_EQ(ee->ee_origin, SO_EE_ORIGIN_LOCAL);
	CHECK_EQ(ee->ee_type, 0);
	CHECK_EQ(ee->ee_code, 0);
	// The loopback link's MTU, which IPv4 caps at IP_MAX_MTU.
	CHECK_EQ(ee->ee_info, family == AF_INET ? 65535 : 65536);
	CHECK_EQ(((struct sockaddr *)SO_EE_OFFENDER(ee))->sa_family, AF_UNSPEC);
	CHECK_EQ(getint(s, SOL_SOCKET, SO_ERROR), 0);
	CHECK_EQ(poll1(s, POLLIN, 0) & POLLERR, 0);
	// Past 64 KiB: IPv4 fails before queueing anything.
	CHECK_ERR(send(s, big, sizeof big, 0), EMSGSIZE);
	if (family == AF_INET) {
		CHECK_ERR(recvmsg(s, &m, MSG_ERRQUEUE | MSG_DONTWAIT), EAGAIN);
	} else {
		m.msg_controllen = sizeof cbuf;
		CHECK_EQ(recvmsg(s, &m, MSG_ERRQUEUE | MSG_DONTWAIT), 0);
	}
	close(s);
}

int main(void) {
	int families[] = {AF_INET, AF_INET6};
	for (int i = 0; i < 2; i++) {
		queued(families[i]);
		truncated(families[i]);
		not_queued(families[i]);
		turned_off(families[i]);
		too_big(families[i]);
	}
	mapped();
	return 0;
}
