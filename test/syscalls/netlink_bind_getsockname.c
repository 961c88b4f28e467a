// netlink_bind_getsockname: a netlink socket's address: unbound it is
// port 0; bind with nl_pid 0 autobinds, the first socket of a process to
// its PID, the next ones elsewhere; a taken port is EADDRINUSE, binding
// a bound socket to another port EINVAL, a short or foreign address
// EINVAL; nl_groups and NETLINK_ADD_MEMBERSHIP show in getsockname and
// NETLINK_LIST_MEMBERSHIPS; a closed socket's port is free again. Socket
// options round-trip (SO_RCVBUF/SO_SNDBUF doubled, SO_PASSCRED, the
// NETLINK_* flags). poll and epoll see a socket writable, and readable
// once a reply is queued. Root may unicast to another socket's port.
//
//go:build ignore

#include "netlink_check.h"
#include <sys/epoll.h>

static struct sockaddr_nl name_of(int fd) {
	struct sockaddr_nl sa;
	memset(&sa, 0xff, sizeof sa);
	socklen_t l = sizeof sa;
	CHECK_OK(getsockname(fd, (struct sockaddr *)&sa, &l));
	CHECK_EQ(l, sizeof sa);
	CHECK_EQ(sa.nl_family, AF_NETLINK);
	return sa;
}

static int getint(int fd, int level, int name) {
	int v = -1;
	socklen_t l = sizeof v;
	CHECK_OK(getsockopt(fd, level, name, &v, &l));
	CHECK_EQ(l, sizeof v);
	return v;
}

int main(void) {
	int a = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
	CHECK(a >= 0);
	struct sockaddr_nl sa = name_of(a);
	CHECK_EQ(sa.nl_pid, 0);
	CHECK_EQ(sa.nl_groups, 0);
	socklen_t l = sizeof sa;
	CHECK_OK(getpeername(a, (struct sockaddr *)&sa, &l));
	CHECK_EQ(sa.nl_pid, 0);

	struct sockaddr_nl any = {.nl_family = AF_NETLINK};
	CHECK_ERR(bind(a, (struct sockaddr *)&any, sizeof any - 1), EINVAL);
	struct sockaddr_nl foreign = {.nl_family = AF_UNIX};
	CHECK_ERR(bind(a, (struct sockaddr *)&foreign, sizeof foreign), EINVAL);
	CHECK_OK(bind(a, (struct sockaddr *)&any, sizeof any));
	unsigned pa = name_of(a).nl_pid;
	CHECK_EQ(pa, getpid());

	int b = socket(AF_NETLINK, SOCK_DGRAM, NETLINK_ROUTE);
	CHECK_OK(bind(b, (struct sockaddr *)&any, sizeof any));
	unsigned pb = name_of(b).nl_pid;
	CHECK(pb != 0 && pb != pa);

	// A taken port; another port for a bound socket; the same port with
	// groups.
	int c = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
	struct sockaddr_nl taken = {.nl_family = AF_NETLINK, .nl_pid = pa};
	CHECK_ERR(bind(c, (struct sockaddr *)&taken, sizeof taken), EADDRINUSE);
	struct sockaddr_nl other = {.nl_family = AF_NETLINK, .nl_pid = pb + 1};
	CHECK_ERR(bind(b, (struct sockaddr *)&other, sizeof other), EINVAL);
	struct sockaddr_nl groups = {.nl_family = AF_NETLINK, .nl_pid = pb, .nl_groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR};
	CHECK_OK(bind(b, (struct sockaddr *)&groups, sizeof groups));
	CHECK_EQ(name_of(b).nl_groups, RTMGRP_LINK | RTMGRP_IPV4_IFADDR);
	int g = RTNLGRP_IPV6_ROUTE;
	CHECK_OK(setsockopt(b, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &g, sizeof g));
	CHECK_EQ(name_of(b).nl_groups, RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_ROUTE);
	unsigned members[4] = {0};
	l = sizeof members;
	CHECK_OK(getsockopt(b, SOL_NETLINK, NETLINK_LIST_MEMBERSHIPS, members, &l));
	CHECK_EQ(members[0], RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_ROUTE);
	g = 0;
	CHECK_ERR(setsockopt(b, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &g, sizeof g), EINVAL);
	g = RTNLGRP_LINK;
	CHECK_OK(setsockopt(b, SOL_NETLINK, NETLINK_DROP_MEMBERSHIP, &g, sizeof g));
	CHECK_EQ(name_of(b).nl_groups, RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_ROUTE);

	// An explicit port, free again once closed.
	struct sockaddr_nl mine = {.nl_family = AF_NETLINK, .nl_pid = 0x7eadbeef};
	CHECK_OK(bind(c, (struct sockaddr *)&mine, sizeof mine));
	CHECK_EQ(name_of(c).nl_pid, 0x7eadbeef);
	close(c);
	c = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
	CHECK_OK(bind(c, (struct sockaddr *)&mine, sizeof mine));

	// Options.
	CHECK_EQ(getint(a, SOL_SOCKET, SO_TYPE), SOCK_RAW);
	CHECK_EQ(getint(b, SOL_SOCKET, SO_TYPE), SOCK_DGRAM);
	CHECK_EQ(getint(a, SOL_SOCKET, SO_DOMAIN), AF_NETLINK);
	CHECK_EQ(getint(a, SOL_SOCKET, SO_PROTOCOL), NETLINK_ROUTE);
	int v = 65536;
	CHECK_OK(setsockopt(a, SOL_SOCKET, SO_RCVBUF, &v, sizeof v));
	CHECK_EQ(getint(a, SOL_SOCKET, SO_RCVBUF), 2 * 65536);
	v = 32768;
	CHECK_OK(setsockopt(a, SOL_SOCKET, SO_SNDBUF, &v, sizeof v));
	CHECK_EQ(getint(a, SOL_SOCKET, SO_SNDBUF), 2 * 32768);
	CHECK_EQ(getint(a, SOL_SOCKET, SO_PASSCRED), 0);
	v = 1;
	CHECK_OK(setsockopt(a, SOL_SOCKET, SO_PASSCRED, &v, sizeof v));
	CHECK_EQ(getint(a, SOL_SOCKET, SO_PASSCRED), 1);
	int flags[] = {NETLINK_EXT_ACK, NETLINK_GET_STRICT_CHK, NETLINK_CAP_ACK, NETLINK_NO_ENOBUFS, NETLINK_BROADCAST_ERROR, NETLINK_PKTINFO};
	for (unsigned i = 0; i < sizeof flags / sizeof flags[0]; i++) {
		CHECK_EQ(getint(a, SOL_NETLINK, flags[i]), 0);
		v = 1;
		CHECK_OK(setsockopt(a, SOL_NETLINK, flags[i], &v, sizeof v));
		CHECK_EQ(getint(a, SOL_NETLINK, flags[i]), 1);
		v = 0;
		CHECK_OK(setsockopt(a, SOL_NETLINK, flags[i], &v, sizeof v));
	}
	CHECK_ERR(setsockopt(a, SOL_NETLINK, 999, &v, sizeof v), ENOPROTOOPT);
	CHECK_ERR(setsockopt(a, SOL_IP, IP_TTL, &v, sizeof v), ENOPROTOOPT);

	// Readiness.
	struct pollfd p = {.fd = a, .events = POLLIN | POLLOUT};
	CHECK_EQ(poll(&p, 1, 0), 1);
	CHECK_EQ(p.revents, POLLOUT);
	int ep = epoll_create1(0);
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = a}, got;
	CHECK_OK(epoll_ctl(ep, EPOLL_CTL_ADD, a, &ev));
	CHECK_EQ(epoll_wait(ep, &got, 1, 0), 0);
	struct rtgenmsg gen = {.rtgen_family = AF_UNSPEC};
	nl_dump(a, RTM_GETLINK, 1, &gen, sizeof gen);
	CHECK_EQ(epoll_wait(ep, &got, 1, 5000), 1);
	CHECK_EQ(got.events, EPOLLIN);
	CHECK_EQ(poll(&p, 1, 0), 1);
	CHECK_EQ(p.revents, POLLIN | POLLOUT);
	char buf[32768];
	while (recv(a, buf, sizeof buf, MSG_DONTWAIT) > 0)
		;
	CHECK_EQ(errno, EAGAIN);

	// Unicast between two sockets (root may send to a port).
	if (getuid() == 0) {
		struct sockaddr_nl to = {.nl_family = AF_NETLINK, .nl_pid = pb};
		CHECK_EQ(sendto(a, "ping", 4, 0, (struct sockaddr *)&to, sizeof to), 4);
		struct sockaddr_nl from;
		l = sizeof from;
		p.fd = b;
		p.events = POLLIN;
		CHECK_EQ(poll(&p, 1, 5000), 1);
		CHECK_EQ(recvfrom(b, buf, sizeof buf, 0, (struct sockaddr *)&from, &l), 4);
		CHECK_MEM(buf, "ping", 4);
		CHECK_EQ(l, sizeof from);
		CHECK_EQ(from.nl_pid, pa);
		CHECK_EQ(from.nl_groups, 0);
	}
	return 0;
}
