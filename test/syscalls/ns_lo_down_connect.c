// ns_lo_down_connect: what reaching loopback addresses does while lo is
// down in a network namespace. In a new namespace lo has never been up
// and has no addresses (getifaddrs lists none, SIOCGIFADDR is
// EADDRNOTAVAIL, ::1 cannot be bound) and no routes: TCP connect and UDP
// sendto to 127.0.0.1 are ENETUNREACH, a connect to ::1 EADDRNOTAVAIL.
// Bringing lo up assigns 127.0.0.1 and ::1. Once lo has been up, taking
// it down keeps its IPv4 addresses and their local routes
// (fib_sync_down_dev spares RTN_LOCAL routes) but drops what is sent
// through it: a connect to 127.0.0.1 is in progress (EINPROGRESS on a
// non-blocking socket, no reply while lo stays down: a blocking connect
// would hang until the SYN retries run out), a datagram sendto succeeds,
// and 127.0.0.1 can still be bound; other destinations are ENETUNREACH.
// IPv6 removes ::1 with the device going down (addrconf_ifdown):
// binding it is EADDRNOTAVAIL. When lo comes back up, ::1 returns and
// the SYN's retransmission completes the pending connect.
//
//go:build ignore

#include "ns_check.h"
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <poll.h>

static struct sockaddr_in v4(const char *addr, int port) {
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	CHECK_EQ(inet_pton(AF_INET, addr, &a.sin_addr), 1);
	return a;
}

static struct sockaddr_in6 v6_loopback(int port) {
	struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons(port), .sin6_addr = IN6ADDR_LOOPBACK_INIT};
	return a;
}

static int sock(int family, int type) {
	int s = socket(family, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	CHECK(s >= 0);
	return s;
}

// lo_addresses counts lo's IPv4 and IPv6 addresses as `ip addr` lists
// them (getifaddrs asks rtnetlink).
static int lo_addresses(void) {
	struct ifaddrs *all;
	CHECK_OK(getifaddrs(&all));
	int n = 0;
	for (struct ifaddrs *i = all; i; i = i->ifa_next)
		if (i->ifa_addr && strcmp(i->ifa_name, "lo") == 0 &&
		    (i->ifa_addr->sa_family == AF_INET || i->ifa_addr->sa_family == AF_INET6))
			n++;
	freeifaddrs(all);
	return n;
}

static void run(void) {
	CHECK_OK(unshare(CLONE_NEWNET));
	struct sockaddr_in lo4 = v4("127.0.0.1", 5555), other = v4("10.9.8.7", 5555);
	struct sockaddr_in6 lo6 = v6_loopback(5556);

	// Never up: no addresses, no routes.
	CHECK_EQ(lo_addresses(), 0);
	int s = sock(AF_INET, SOCK_DGRAM);
	struct ifreq ifr = {0};
	strcpy(ifr.ifr_name, "lo");
	CHECK_ERR(ioctl(s, SIOCGIFADDR, &ifr), EADDRNOTAVAIL);
	close(s);
	s = sock(AF_INET6, SOCK_DGRAM);
	CHECK_ERR(bind(s, (struct sockaddr *)&lo6, sizeof lo6), EADDRNOTAVAIL);
	close(s);
	s = sock(AF_INET, SOCK_STREAM);
	CHECK_ERR(connect(s, (struct sockaddr *)&lo4, sizeof lo4), ENETUNREACH);
	close(s);
	s = sock(AF_INET, SOCK_DGRAM);
	CHECK_ERR(sendto(s, "x", 1, 0, (struct sockaddr *)&lo4, sizeof lo4), ENETUNREACH);
	close(s);
	s = sock(AF_INET6, SOCK_STREAM);
	CHECK_ERR(connect(s, (struct sockaddr *)&lo6, sizeof lo6), EADDRNOTAVAIL);
	close(s);

	set_lo_up(1);
	CHECK_EQ(lo_addresses(), 2);
	int l = sock(AF_INET, SOCK_STREAM);
	CHECK_OK(bind(l, (struct sockaddr *)&lo4, sizeof lo4));
	CHECK_OK(listen(l, 4));
	int l6 = sock(AF_INET6, SOCK_STREAM);
	CHECK_OK(bind(l6, (struct sockaddr *)&lo6, sizeof lo6));
	CHECK_OK(listen(l6, 4));

	set_lo_up(0);
	CHECK_EQ(lo_addresses(), 1); // 127.0.0.1 stays, ::1 goes
	int c = sock(AF_INET, SOCK_STREAM);
	CHECK_ERR(connect(c, (struct sockaddr *)&lo4, sizeof lo4), EINPROGRESS);
	struct pollfd p = {.fd = c, .events = POLLOUT};
	CHECK_EQ(poll(&p, 1, 200), 0);
	s = sock(AF_INET, SOCK_STREAM);
	CHECK_ERR(connect(s, (struct sockaddr *)&other, sizeof other), ENETUNREACH);
	close(s);
	s = sock(AF_INET, SOCK_DGRAM);
	CHECK_EQ(sendto(s, "x", 1, 0, (struct sockaddr *)&lo4, sizeof lo4), 1);
	close(s);
	s = sock(AF_INET, SOCK_DGRAM);
	struct sockaddr_in b4 = v4("127.0.0.1", 5557);
	CHECK_OK(bind(s, (struct sockaddr *)&b4, sizeof b4));
	close(s);
	s = sock(AF_INET6, SOCK_STREAM);
	struct sockaddr_in6 b6 = v6_loopback(5558);
	CHECK_ERR(bind(s, (struct sockaddr *)&b6, sizeof b6), EADDRNOTAVAIL);
	close(s);

	set_lo_up(1);
	// The SYN is retransmitted after the initial RTO (1 s).
	p.revents = 0;
	CHECK_EQ(poll(&p, 1, 5000), 1);
	CHECK(p.revents & POLLOUT);
	int err = -1;
	socklen_t len = sizeof err;
	CHECK_OK(getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &len));
	CHECK_EQ(err, 0);
	struct pollfd pl = {.fd = l, .events = POLLIN};
	CHECK_EQ(poll(&pl, 1, 2000), 1);
	int a = accept(l, NULL, NULL);
	CHECK(a >= 0);
	s = sock(AF_INET6, SOCK_STREAM);
	int r = connect(s, (struct sockaddr *)&lo6, sizeof lo6);
	CHECK(r == 0 || errno == EINPROGRESS);
	p = (struct pollfd){.fd = s, .events = POLLOUT};
	CHECK_EQ(poll(&p, 1, 2000), 1);
	CHECK_OK(getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len));
	CHECK_EQ(err, 0);
}

int main(void) {
	if (!has_cap(CAP_SYS_ADMIN) || !has_cap(CAP_NET_ADMIN))
		return 0;
	run_in_child(run, 10);
	return 0;
}
