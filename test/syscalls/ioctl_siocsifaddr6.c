// ioctl_siocsifaddr6: the IPv6 address ioctls of an AF_INET6 socket,
// what `ifconfig IF inet6 add|del ADDR/LEN` sends: SIOCSIFADDR adds an
// address (struct in6_ifreq: address, prefix length, interface index),
// SIOCDIFADDR deletes one. The address then shows in getifaddrs with its
// prefix and is announced to rtnetlink listeners (RTM_NEWADDR,
// RTM_DELADDR); a TAP interface takes one too, listed as tentative while
// the interface is down. Errors: a prefix past 128
// is EINVAL, an unknown index ENODEV, the unspecified address, a
// multicast one or ::1 off lo EADDRNOTAVAIL, adding one twice EEXIST,
// deleting one absent or with another prefix length EADDRNOTAVAIL, and
// without CAP_NET_ADMIN EPERM. An AF_INET socket's SIOCDIFADDR is ENOTTY.
// Runs in a network namespace of its own.
//
//go:build ignore

#include "inet_check.h"
#include "net_sysctl_check.h"
#include "tun_check.h"
#include <ifaddrs.h>
#include <linux/capability.h>
#include <linux/if_addr.h>
#include <linux/ipv6.h>
#include <linux/rtnetlink.h>
#include <sys/syscall.h>

static int sock;

// req6 makes request req for addr/plen on interface index: 0 or the
// errno.
static int req6(unsigned long req, const char *addr, unsigned plen, int index) {
	struct in6_ifreq r = {.ifr6_prefixlen = plen, .ifr6_ifindex = index};
	CHECK_EQ(inet_pton(AF_INET6, addr, &r.ifr6_addr), 1);
	return ioctl(sock, req, &r) == 0 ? 0 : errno;
}

// prefix_of returns the prefix length getifaddrs gives addr on name, -1
// if it has no such address.
static int prefix_of(const char *name, const char *addr) {
	struct ifaddrs *ifa, *i;
	struct in6_addr want;
	CHECK_EQ(inet_pton(AF_INET6, addr, &want), 1);
	CHECK_OK(getifaddrs(&ifa));
	int plen = -1;
	for (i = ifa; i; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET6 || strcmp(i->ifa_name, name) != 0)
			continue;
		if (memcmp(&((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr, &want, sizeof want) != 0)
			continue;
		struct in6_addr *m = &((struct sockaddr_in6 *)i->ifa_netmask)->sin6_addr;
		plen = 0;
		for (int b = 0; b < 16; b++)
			plen += __builtin_popcount(m->s6_addr[b]);
	}
	freeifaddrs(ifa);
	return plen;
}

// if_inet6_flags returns the flags /proc/net/if_inet6 gives the address
// (32 hex digits) on name, -1 if it lists no such address.
static int if_inet6_flags(const char *name, const char *hex) {
	FILE *f = fopen("/proc/net/if_inet6", "r");
	CHECK(f != NULL);
	char a[33], dev[IFNAMSIZ + 1];
	unsigned idx, plen, scope, flags;
	int found = -1;
	while (fscanf(f, "%32s %x %x %x %x %16s", a, &idx, &plen, &scope, &flags, dev) == 6) {
		if (strcmp(a, hex) == 0 && strcmp(dev, name) == 0)
			found = flags;
	}
	fclose(f);
	return found;
}

// await_addr_event waits for an address message of type on nl (Linux may
// announce an address more than once as its state settles) and returns
// the address's prefix length.
static unsigned await_addr_event(int nl, int type) {
	char buf[8192];
	for (;;) {
		CHECK(poll1(nl, POLLIN, 2000) & POLLIN);
		ssize_t n = recv(nl, buf, sizeof buf, 0);
		CHECK(n > 0);
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_type == type) {
				struct ifaddrmsg *ifa = NLMSG_DATA(h);
				CHECK_EQ(ifa->ifa_family, AF_INET6);
				return ifa->ifa_prefixlen;
			}
		}
	}
}

int main(void) {
	enter_netns();
	lo_up();
	sock = socket(AF_INET6, SOCK_DGRAM, 0);
	CHECK(sock >= 0);
	int lo = if_nametoindex("lo");
	CHECK(lo > 0);
	int nl = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
	CHECK(nl >= 0);
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK, .nl_groups = RTMGRP_IPV6_IFADDR};
	CHECK_OK(bind(nl, (struct sockaddr *)&sa, sizeof sa));

	CHECK_EQ(req6(SIOCSIFADDR, "fd00::5", 64, lo), 0);
	CHECK_EQ(prefix_of("lo", "fd00::5"), 64);
	CHECK_EQ(await_addr_event(nl, RTM_NEWADDR), 64);
	CHECK_EQ(req6(SIOCSIFADDR, "fd00::5", 64, lo), EEXIST);

	CHECK_EQ(req6(SIOCSIFADDR, "fd00::6", 129, lo), EINVAL);
	CHECK_EQ(req6(SIOCSIFADDR, "fd00::6", 64, 9999), ENODEV);
	CHECK_EQ(req6(SIOCSIFADDR, "::", 64, lo), EADDRNOTAVAIL);
	CHECK_EQ(req6(SIOCSIFADDR, "ff02::7", 128, lo), EADDRNOTAVAIL);
	CHECK_EQ(req6(SIOCDIFADDR, "fd00::6", 129, lo), EINVAL);
	CHECK_EQ(req6(SIOCDIFADDR, "fd00::6", 64, 9999), ENODEV);

	CHECK_EQ(req6(SIOCDIFADDR, "fd00::5", 80, lo), EADDRNOTAVAIL);
	CHECK_EQ(req6(SIOCDIFADDR, "fd00::5", 64, lo), 0);
	CHECK_EQ(prefix_of("lo", "fd00::5"), -1);
	CHECK_EQ(await_addr_event(nl, RTM_DELADDR), 64);
	CHECK_EQ(req6(SIOCDIFADDR, "fd00::5", 64, lo), EADDRNOTAVAIL);

	// A TAP interface: any unicast address but the loopback one.
	int t = tun_open();
	char tap[IFNAMSIZ] = "cocoontap0";
	CHECK_EQ(tun_set(t, tap, IFF_TAP | IFF_NO_PI), 0);
	int tapi = if_nametoindex(tap);
	CHECK(tapi > 0);
	// While the interface is down its address is listed as tentative.
	CHECK_EQ(req6(SIOCSIFADDR, "2001:db8:1::1", 64, tapi), 0);
	CHECK_EQ(prefix_of(tap, "2001:db8:1::1"), 64);
	CHECK_EQ(if_inet6_flags(tap, "20010db8000100000000000000000001"), IFA_F_PERMANENT | IFA_F_TENTATIVE);
	link_set(tap, 1);
	CHECK_EQ(req6(SIOCSIFADDR, "::1", 128, tapi), EADDRNOTAVAIL);
	CHECK_EQ(req6(SIOCSIFADDR, "2001:db8::1", 48, tapi), 0);
	CHECK_EQ(prefix_of(tap, "2001:db8::1"), 48);

	// AF_INET has no SIOCDIFADDR.
	int s4 = socket(AF_INET, SOCK_DGRAM, 0);
	struct in6_ifreq r = {.ifr6_prefixlen = 48, .ifr6_ifindex = tapi};
	CHECK_ERR(ioctl(s4, SIOCDIFADDR, &r), ENOTTY);

	// Without CAP_NET_ADMIN.
	struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct data[2];
	CHECK_OK(syscall(SYS_capget, &hdr, data));
	data[CAP_NET_ADMIN / 32].effective &= ~(1u << (CAP_NET_ADMIN % 32));
	CHECK_OK(syscall(SYS_capset, &hdr, data));
	CHECK_EQ(req6(SIOCSIFADDR, "fd00::9", 64, lo), EPERM);
	CHECK_EQ(req6(SIOCDIFADDR, "2001:db8::1", 48, tapi), EPERM);
	return 0;
}
