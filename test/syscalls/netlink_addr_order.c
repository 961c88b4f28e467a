// netlink_addr_order: what RTM_NEWADDR gives an address and where a dump
// lists it. An IPv4 address has the broadcast address IFA_BROADCAST gave
// (none without one, or with 0.0.0.0), on lo and a TAP device alike, and
// keeps it when re-added with NLM_F_REPLACE; the local table routes it
// and the prefix's broadcast address while the interface is up; routes
// through an interface without a carrier are marked "linkdown", and it
// gets its IPv6 link-local address only once it has one. An interface's IPv4 addresses are listed narrowest
// scope first and, within a scope, in the order they were added (lo's
// 127.0.0.1 before an address added to lo); its IPv6 ones global first
// and newest first, the link-local one after them. An IPv4 address in the
// subnet of one the interface has (same prefix length) is its secondary:
// listed after every primary, deleted with its primary (announced
// before it), or, with promote_secondaries, the oldest one becomes the
// primary (announced after).
//
//go:build ignore

#include "net_sysctl_check.h"
#include "tun_check.h"

#define TAP "ctapord0"

struct addr {
	int family, prefix, flags, scope;
	unsigned char local[16];
	int has_brd;
	unsigned char brd[4];
};

static struct addr addrs[64];
static int naddrs, want_index;

static void on_addr(struct nlmsghdr *h, void *arg) {
	(void)arg;
	struct ifaddrmsg *ifa = NLMSG_DATA(h);
	if ((int)ifa->ifa_index != want_index)
		return;
	CHECK(naddrs < 64);
	struct addr *a = &addrs[naddrs++];
	memset(a, 0, sizeof *a);
	a->family = ifa->ifa_family;
	a->prefix = ifa->ifa_prefixlen;
	a->flags = ifa->ifa_flags;
	a->scope = ifa->ifa_scope;
	struct rtattr *address = rta_get(h, sizeof *ifa, IFA_ADDRESS);
	CHECK(address != NULL);
	memcpy(a->local, RTA_DATA(address), a->family == AF_INET ? 4 : 16);
	struct rtattr *brd = rta_get(h, sizeof *ifa, IFA_BROADCAST);
	if (brd) {
		CHECK_EQ(RTA_PAYLOAD(brd), 4);
		a->has_brd = 1;
		memcpy(a->brd, RTA_DATA(brd), 4);
	}
}

// dump lists the addresses of interface index of the family.
static int dump(int family, int index) {
	static unsigned seq = 100;
	int fd = nl_open();
	naddrs = 0;
	want_index = index;
	struct ifaddrmsg ifa = {.ifa_family = family};
	nl_dump(fd, RTM_GETADDR, ++seq, &ifa, sizeof ifa);
	CHECK_EQ(nl_collect(fd, seq, on_addr, NULL), 0);
	close(fd);
	return naddrs;
}

// change_scoped sends RTM_NEWADDR (or RTM_DELADDR) of addr/prefix on
// index, with ifa_scope scope and IFA_BROADCAST brd unless brd is NULL,
// and returns its error.
static int change_scoped(int type, int flags, int index, int family, const char *addr, int prefix, const char *brd, int scope) {
	struct {
		struct ifaddrmsg ifa;
		char attrs[64];
	} req = {.ifa = {.ifa_family = family, .ifa_prefixlen = prefix, .ifa_scope = scope, .ifa_index = index}};
	size_t len = sizeof req.ifa;
	int alen = family == AF_INET ? 4 : 16;
	int types[] = {IFA_LOCAL, IFA_ADDRESS};
	for (int i = 0; i < 2; i++) {
		struct rtattr *rta = (void *)((char *)&req + len);
		rta->rta_type = types[i];
		rta->rta_len = RTA_LENGTH(alen);
		inet_pton(family, addr, RTA_DATA(rta));
		len += RTA_SPACE(alen);
	}
	if (brd) {
		struct rtattr *rta = (void *)((char *)&req + len);
		rta->rta_type = IFA_BROADCAST;
		rta->rta_len = RTA_LENGTH(4);
		inet_pton(AF_INET, brd, RTA_DATA(rta));
		len += RTA_SPACE(4);
	}
	int fd = nl_open();
	nl_send(fd, type, NLM_F_REQUEST | NLM_F_ACK | flags, 7, &req, len);
	int err = nl_collect(fd, 7, NULL, NULL);
	close(fd);
	return err;
}

// change is change_scoped with scope RT_SCOPE_UNIVERSE.
static int change(int type, int flags, int index, int family, const char *addr, int prefix, const char *brd) {
	return change_scoped(type, flags, index, family, addr, prefix, brd, RT_SCOPE_UNIVERSE);
}

static int add4(int index, const char *addr, int prefix, const char *brd) {
	return change(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, index, AF_INET, addr, prefix, brd);
}

// check_addr checks that addrs[i] is addr, with broadcast brd (NULL:
// none).
static void check_addr(int i, const char *addr, const char *brd) {
	CHECK(i < naddrs);
	unsigned char want[16];
	CHECK_EQ(inet_pton(addrs[i].family, addr, want), 1);
	if (memcmp(addrs[i].local, want, addrs[i].family == AF_INET ? 4 : 16) != 0) {
		char got[64];
		inet_ntop(addrs[i].family, addrs[i].local, got, sizeof got);
		printf("address %d is %s, want %s\n", i, got, addr);
		FAIL("addresses out of order");
	}
	if (!brd) {
		CHECK_EQ(addrs[i].has_brd, 0);
		return;
	}
	CHECK_EQ(addrs[i].has_brd, 1);
	CHECK_EQ(inet_pton(AF_INET, brd, want), 1);
	CHECK_MEM(addrs[i].brd, want, 4);
}

// route_flags returns the rtm_flags of the IPv4 route of type to dst
// (-1 without one).
static int route_found, route_type;
static unsigned char route_dst[4];

static void on_route(struct nlmsghdr *h, void *arg) {
	(void)arg;
	struct rtmsg *rt = NLMSG_DATA(h);
	struct rtattr *dst = rta_get(h, sizeof *rt, RTA_DST);
	if (rt->rtm_type == route_type && dst && memcmp(RTA_DATA(dst), route_dst, 4) == 0)
		route_found = rt->rtm_flags;
}

static int route_flags(int type, const char *dst) {
	int fd = nl_open();
	route_found = -1;
	route_type = type;
	inet_pton(AF_INET, dst, route_dst);
	struct rtmsg rt = {.rtm_family = AF_INET};
	nl_dump(fd, RTM_GETROUTE, 50, &rt, sizeof rt);
	CHECK_EQ(nl_collect(fd, 50, on_route, NULL), 0);
	close(fd);
	return route_found;
}

// has_broadcast_route tells whether the local table routes brd as a
// broadcast address.
static int has_broadcast_route(const char *brd) {
	return route_flags(RTN_BROADCAST, brd) >= 0;
}

// wait_route_flags waits up to 5 s for the route of type to dst to
// have the flags mask selects equal to want: Linux notes a carrier
// change asynchronously (linkwatch, up to a second later).
static void wait_route_flags(int type, const char *dst, int mask, int want) {
	int got = -1;
	for (int i = 0; i < 500; i++) {
		got = route_flags(type, dst);
		if (got >= 0 && (got & mask) == want)
			return;
		usleep(10 * 1000);
	}
	printf("route %s has flags %#x, want %#x of %#x\n", dst, got, want, mask);
	FAIL("route flags");
}

// Routes through an interface that is up without a carrier (a TAP device
// no file holds) are marked RTNH_F_LINKDOWN, all but the local ones.
static void linkdown(void) {
	int fd = tun_open();
	char name[IFNAMSIZ] = "ctapnc0";
	CHECK_EQ(tun_set(fd, name, IFF_TAP | IFF_NO_PI), 0);
	CHECK_OK(ioctl(fd, TUNSETPERSIST, 1));
	close(fd);
	link_up("ctapnc0", "10.83.0.1");
	int idx = if_nametoindex("ctapnc0");
	wait_route_flags(RTN_UNICAST, "10.83.0.0", RTNH_F_LINKDOWN, RTNH_F_LINKDOWN);
	// Without a link, no IPv6 link-local address yet (addrconf waits).
	CHECK_EQ(dump(AF_INET6, idx), 0);
	wait_route_flags(RTN_BROADCAST, "10.83.0.255", RTNH_F_LINKDOWN, RTNH_F_LINKDOWN);
	CHECK_EQ(route_flags(RTN_LOCAL, "10.83.0.1"), 0);
	// Held again, it has its carrier.
	fd = tun_open();
	CHECK_EQ(tun_set(fd, name, IFF_TAP | IFF_NO_PI), 0);
	wait_route_flags(RTN_UNICAST, "10.83.0.0", RTNH_F_LINKDOWN, 0);
	// ... and the link-local address it waited for.
	int n = 0;
	for (int i = 0; i < 500 && (n = dump(AF_INET6, idx)) == 0; i++)
		usleep(10 * 1000);
	CHECK_EQ(n, 1);
	CHECK(addrs[0].local[0] == 0xfe && addrs[0].local[1] == 0x80);
	CHECK_OK(ioctl(fd, TUNSETPERSIST, 0));
	close(fd);
}

static void ipv4(int tap) {
	CHECK_EQ(add4(tap, "10.82.2.3", 24, NULL), 0);
	CHECK_EQ(add4(tap, "10.82.1.3", 24, "10.82.1.255"), 0);
	CHECK_EQ(add4(tap, "10.82.4.3", 24, "10.82.4.7"), 0);
	CHECK_EQ(add4(tap, "10.82.5.3", 24, "0.0.0.0"), 0);
	CHECK_EQ(dump(AF_INET, tap), 4);
	check_addr(0, "10.82.2.3", NULL);
	check_addr(1, "10.82.1.3", "10.82.1.255");
	check_addr(2, "10.82.4.3", "10.82.4.7");
	check_addr(3, "10.82.5.3", NULL);
	// The local table routes every prefix's broadcast address and the
	// addresses' own.
	CHECK(has_broadcast_route("10.82.4.7"));
	CHECK(has_broadcast_route("10.82.4.255"));
	CHECK(has_broadcast_route("10.82.2.255"));
	CHECK(!has_broadcast_route("10.82.4.9"));
	// Replacing an address keeps its broadcast and its place.
	CHECK_EQ(change(RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE, tap, AF_INET, "10.82.4.3", 24, "10.82.4.9"), 0);
	// Removed and added again, an address goes last.
	CHECK_EQ(change(RTM_DELADDR, 0, tap, AF_INET, "10.82.2.3", 24, NULL), 0);
	CHECK_EQ(add4(tap, "10.82.2.3", 24, "10.82.2.255"), 0);
	CHECK_EQ(dump(AF_INET, tap), 4);
	check_addr(0, "10.82.1.3", "10.82.1.255");
	check_addr(1, "10.82.4.3", "10.82.4.7");
	check_addr(2, "10.82.5.3", NULL);
	check_addr(3, "10.82.2.3", "10.82.2.255");

	// lo: its own 127.0.0.1 (scope host, no broadcast) first.
	CHECK_EQ(add4(1, "10.82.9.1", 24, "10.82.9.255"), 0);
	CHECK_EQ(dump(AF_INET, 1), 2);
	check_addr(0, "127.0.0.1", NULL);
	check_addr(1, "10.82.9.1", "10.82.9.255");
}

// check_secondary checks that addrs[i] is addr and whether it is a
// secondary.
static void check_secondary(int i, const char *addr, int secondary) {
	check_addr(i, addr, NULL);
	if (!!(addrs[i].flags & IFA_F_SECONDARY) != secondary) {
		printf("address %d (%s) has flags %#x\n", i, addr, addrs[i].flags);
		FAIL("secondary flag");
	}
}

// expect_announced reads the next RTM_NEWADDR or RTM_DELADDR from fd, a
// socket of the IPv4 address group, and checks it is type for addr.
static void expect_announced(int fd, int type, const char *addr) {
	static char buf[8192];
	struct pollfd p = {.fd = fd, .events = POLLIN};
	CHECK_EQ(poll(&p, 1, 5000), 1);
	ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
	CHECK(n > 0);
	struct nlmsghdr *h = (void *)buf;
	CHECK(NLMSG_OK(h, n));
	struct ifaddrmsg *ifa = NLMSG_DATA(h);
	struct rtattr *local = rta_get(h, sizeof *ifa, IFA_LOCAL);
	CHECK(local != NULL);
	char got[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, RTA_DATA(local), got, sizeof got);
	if (h->nlmsg_type != type || strcmp(got, addr) != 0) {
		printf("announced type %d for %s, want %d for %s\n", h->nlmsg_type, got, type, addr);
		FAIL("announcement");
	}
	CHECK(NLMSG_NEXT(h, n) == NULL || !NLMSG_OK(h, n));
}

static int del4(int index, const char *addr, int prefix) {
	return change(RTM_DELADDR, 0, index, AF_INET, addr, prefix, NULL);
}

// secondaries adds addresses of one subnet to tap, which has four
// primaries already.
static void secondaries(int tap) {
	// A namespace starts with the host's all (IPv4 inherits init_net's
	// devconf); Debian's systemd sets it.
	CHECK_EQ(sysctl_put("net/ipv4/conf/all/promote_secondaries", "0"), 0);
	CHECK_EQ(sysctl_put("net/ipv4/conf/" TAP "/promote_secondaries", "0"), 0);
	int events = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	CHECK(events >= 0);
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK, .nl_groups = RTMGRP_IPV4_IFADDR};
	CHECK_OK(bind(events, (struct sockaddr *)&sa, sizeof sa));

	CHECK_EQ(add4(tap, "10.84.0.1", 24, NULL), 0);
	CHECK_EQ(add4(tap, "10.84.0.2", 24, NULL), 0);
	CHECK_EQ(add4(tap, "10.84.1.1", 24, NULL), 0);
	CHECK_EQ(add4(tap, "10.84.0.3", 24, NULL), 0);
	CHECK_EQ(add4(tap, "10.84.0.4", 16, NULL), 0); // another prefix length: a primary
	CHECK_EQ(dump(AF_INET, tap), 9);
	check_addr(3, "10.82.2.3", "10.82.2.255");
	check_secondary(4, "10.84.0.1", 0);
	check_secondary(5, "10.84.1.1", 0);
	check_secondary(6, "10.84.0.4", 0);
	check_secondary(7, "10.84.0.2", 1);
	check_secondary(8, "10.84.0.3", 1);
	for (int i = 0; i < 5; i++)
		expect_announced(events, RTM_NEWADDR, (const char *[]){"10.84.0.1", "10.84.0.2", "10.84.1.1", "10.84.0.3", "10.84.0.4"}[i]);

	// A secondary goes alone.
	CHECK_EQ(del4(tap, "10.84.0.2", 24), 0);
	expect_announced(events, RTM_DELADDR, "10.84.0.2");
	CHECK_EQ(dump(AF_INET, tap), 8);
	check_secondary(7, "10.84.0.3", 1);
	// A primary takes its secondaries, announced first.
	CHECK_EQ(del4(tap, "10.84.0.1", 24), 0);
	expect_announced(events, RTM_DELADDR, "10.84.0.3");
	expect_announced(events, RTM_DELADDR, "10.84.0.1");
	CHECK_EQ(dump(AF_INET, tap), 6);
	check_secondary(4, "10.84.1.1", 0);
	check_secondary(5, "10.84.0.4", 0);

	// Promoted, the oldest secondary is the last primary, announced
	// after the primary's deletion; the others stay secondaries. all's
	// value counts besides the interface's, and writing it leaves the
	// interface's alone.
	CHECK_EQ(sysctl_put("net/ipv4/conf/all/promote_secondaries", "1"), 0);
	char v[16];
	CHECK(strcmp(sysctl_get("net/ipv4/conf/" TAP "/promote_secondaries", v, sizeof v), "0") == 0);
	CHECK_EQ(add4(tap, "10.84.2.1", 24, NULL), 0);
	CHECK_EQ(add4(tap, "10.84.2.2", 24, NULL), 0);
	CHECK_EQ(add4(tap, "10.84.2.3", 24, NULL), 0);
	CHECK_EQ(add4(tap, "10.84.3.1", 24, NULL), 0);
	for (int i = 0; i < 4; i++)
		expect_announced(events, RTM_NEWADDR, (const char *[]){"10.84.2.1", "10.84.2.2", "10.84.2.3", "10.84.3.1"}[i]);
	CHECK_EQ(del4(tap, "10.84.2.1", 24), 0);
	expect_announced(events, RTM_DELADDR, "10.84.2.1");
	expect_announced(events, RTM_NEWADDR, "10.84.2.2");
	CHECK_EQ(dump(AF_INET, tap), 9);
	check_secondary(5, "10.84.0.4", 0);
	check_secondary(6, "10.84.3.1", 0);
	check_secondary(7, "10.84.2.2", 0);
	check_secondary(8, "10.84.2.3", 1);
	close(events);
}

// scopes adds IPv4 addresses with the scope a request gives, which one in
// the subnet of another must share (EINVAL), and which orders them.
static void scopes(int tap) {
	int n = dump(AF_INET, tap);
	CHECK_EQ(change_scoped(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, tap, AF_INET, "10.85.0.1", 24, NULL, RT_SCOPE_LINK), 0);
	CHECK_EQ(change_scoped(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, tap, AF_INET, "10.85.0.2", 24, NULL, RT_SCOPE_UNIVERSE), -EINVAL);
	CHECK_EQ(change_scoped(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, tap, AF_INET, "10.85.0.2", 24, NULL, RT_SCOPE_LINK), 0);
	CHECK_EQ(dump(AF_INET, tap), n + 2);
	check_secondary(0, "10.85.0.1", 0); // link scope before global
	CHECK_EQ(addrs[0].scope, RT_SCOPE_LINK);
	CHECK_EQ(addrs[1].scope, RT_SCOPE_UNIVERSE);
	check_secondary(n + 1, "10.85.0.2", 1);
	CHECK_EQ(addrs[n + 1].scope, RT_SCOPE_LINK);
	// lo's 127.0.0.1/8 is host scope: another address of 127/8 must be
	// too, whatever the address (a raw request's scope is 0).
	CHECK_EQ(add4(1, "127.0.0.2", 8, NULL), -EINVAL);
	CHECK_EQ(change_scoped(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, 1, AF_INET, "127.0.0.2", 8, NULL, RT_SCOPE_HOST), 0);
	CHECK_EQ(change_scoped(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, 1, AF_INET, "127.1.0.2", 16, NULL, RT_SCOPE_UNIVERSE), 0);
	n = dump(AF_INET, 1);
	check_secondary(0, "127.0.0.1", 0);
	CHECK_EQ(addrs[0].scope, RT_SCOPE_HOST);
	check_secondary(n - 1, "127.0.0.2", 1);
	CHECK_EQ(addrs[n - 1].scope, RT_SCOPE_HOST);
	check_secondary(n - 2, "127.1.0.2", 0);
	CHECK_EQ(addrs[n - 2].scope, RT_SCOPE_UNIVERSE);
	CHECK_EQ(del4(1, "127.0.0.2", 8), 0);
	CHECK_EQ(del4(1, "127.1.0.2", 16), 0);
}

static void ipv6(int tap) {
	CHECK_EQ(change(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, tap, AF_INET6, "fd82::1", 64, NULL), 0);
	CHECK_EQ(change(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, tap, AF_INET6, "fd82::2", 64, NULL), 0);
	int n = dump(AF_INET6, tap);
	CHECK_EQ(n, 3);
	check_addr(0, "fd82::2", NULL);
	check_addr(1, "fd82::1", NULL);
	CHECK_EQ(addrs[2].local[0], 0xfe);
	CHECK_EQ(addrs[2].local[1], 0x80);
	CHECK_EQ(change(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, 1, AF_INET6, "fd82::9", 64, NULL), 0);
	CHECK_EQ(dump(AF_INET6, 1), 2);
	check_addr(0, "fd82::9", NULL);
	check_addr(1, "::1", NULL);
}

int main(void) {
	enter_netns();
	lo_up();
	int fd = tun_open();
	char name[IFNAMSIZ] = TAP;
	CHECK_EQ(tun_set(fd, name, IFF_TAP | IFF_NO_PI), 0);
	int tap = link_set(TAP, 1);
	ipv4(tap);
	secondaries(tap);
	scopes(tap);
	ipv6(tap);
	linkdown();
	// Down, the interface's broadcast routes go.
	link_set(TAP, 0);
	CHECK(!has_broadcast_route("10.82.4.7"));
	CHECK(!has_broadcast_route("10.82.2.255"));
	CHECK(has_broadcast_route("10.82.9.255"));
	return 0;
}
