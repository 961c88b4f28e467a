// net_sysctl_disable_ipv6: net.ipv6.conf.{all,default,IF}.disable_ipv6.
// A fresh namespace has conf/all, conf/default and conf/lo, each 0, and lo
// (once up) has ::1. Setting lo's takes ::1 away (bind to it is
// EADDRNOTAVAIL, rtnetlink lists no IPv6 address on lo, adding one is
// EACCES) while IPv4 and AF_INET6 sockets go on working; clearing it
// brings ::1 back, but only to a lo that is up: bringing lo up while it
// is set gives lo no ::1. Any int is taken (nonzero is "off"). Writing
// all writes default and every interface; writing default changes no
// interface.
//
//go:build ignore

#include "inet_check.h"
#include "net_sysctl_check.h"
#include <sys/stat.h>

#define LO "net/ipv6/conf/lo/disable_ipv6"
#define ALL "net/ipv6/conf/all/disable_ipv6"
#define DEFAULT "net/ipv6/conf/default/disable_ipv6"

// bind_v6_loopback returns 0 or the errno of binding a UDP socket to ::1.
static int bind_v6_loopback(void) {
	int s = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	CHECK(s >= 0);
	struct sockaddr_in6 a = lo6(0);
	int e = bind(s, (struct sockaddr *)&a, sizeof a) == 0 ? 0 : errno;
	close(s);
	return e;
}

static void count_addr(struct nlmsghdr *h, void *arg) {
	if (h->nlmsg_type != RTM_NEWADDR)
		return;
	struct ifaddrmsg *ifa = NLMSG_DATA(h);
	if (ifa->ifa_family == AF_INET6 && ifa->ifa_index == 1)
		++*(int *)arg;
}

// lo_v6_addresses counts the IPv6 addresses rtnetlink lists on lo.
static int lo_v6_addresses(void) {
	int fd = nl_open(), n = 0;
	struct ifaddrmsg req = {.ifa_family = AF_INET6};
	nl_dump(fd, RTM_GETADDR, 7, &req, sizeof req);
	CHECK_EQ(nl_collect(fd, 7, count_addr, &n), 0);
	close(fd);
	return n;
}

// add_lo_v6 adds fd00::1/128 to lo as `ip -6 addr add` does and returns
// the request's error (0 or a negative errno).
static int add_lo_v6(void) {
	struct {
		struct ifaddrmsg ifa;
		struct rtattr rta;
		struct in6_addr addr;
	} req = {
	    .ifa = {.ifa_family = AF_INET6, .ifa_prefixlen = 128, .ifa_index = 1},
	    .rta = {.rta_len = RTA_LENGTH(sizeof(struct in6_addr)), .rta_type = IFA_LOCAL},
	};
	inet_pton(AF_INET6, "fd00::1", &req.addr);
	int fd = nl_open();
	nl_send(fd, RTM_NEWADDR, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, 9, &req, sizeof req);
	int e = nl_collect(fd, 9, NULL, NULL);
	close(fd);
	return e;
}

// v6_on and v6_off check that lo has ::1 or no IPv6 address (macros, so
// that a failure names the step).
#define v6_on()                                   \
	do {                                      \
		CHECK_EQ(bind_v6_loopback(), 0);  \
		CHECK_EQ(lo_v6_addresses(), 1);   \
	} while (0)

#define v6_off()                                           \
	do {                                               \
		CHECK_EQ(bind_v6_loopback(), EADDRNOTAVAIL); \
		CHECK_EQ(lo_v6_addresses(), 0);            \
	} while (0)

int main(void) {
	enter_netns();
	struct stat st;
	CHECK_OK(stat("/proc/sys/net/ipv6/conf/all", &st));
	CHECK(S_ISDIR(st.st_mode));
	CHECK_OK(stat("/proc/sys/net/ipv6/conf/default", &st));
	CHECK_OK(stat("/proc/sys/net/ipv6/conf/lo/disable_ipv6", &st));
	CHECK(S_ISREG(st.st_mode));
	CHECK_EQ(st.st_mode & 0777, 0644);
	CHECK_ERR(stat("/proc/sys/net/ipv6/conf/nosuch0/disable_ipv6", &st), ENOENT);
	SYSCTL_IS(ALL, "0");
	SYSCTL_IS(DEFAULT, "0");
	SYSCTL_IS(LO, "0");
	lo_up();
	v6_on();

	SYSCTL_SET(LO, "1");
	SYSCTL_IS(LO, "1");
	SYSCTL_IS(ALL, "0");
	v6_off();
	CHECK_EQ(add_lo_v6(), -EACCES);
	lo_datagram_arrives(AF_INET);
	int s6 = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(s6 >= 0);
	close(s6);
	// Any int; nonzero is off.
	SYSCTL_SET(LO, "2");
	SYSCTL_IS(LO, "2");
	SYSCTL_SET(LO, "-1");
	SYSCTL_IS(LO, "-1");
	v6_off();
	SYSCTL_SET(LO, "0");
	v6_on();

	// all: default and every interface.
	SYSCTL_SET(ALL, "1");
	SYSCTL_IS(DEFAULT, "1");
	SYSCTL_IS(LO, "1");
	v6_off();
	SYSCTL_SET(ALL, "0");
	SYSCTL_IS(DEFAULT, "0");
	SYSCTL_IS(LO, "0");
	v6_on();
	// default: only interfaces made later.
	SYSCTL_SET(DEFAULT, "1");
	SYSCTL_IS(LO, "0");
	SYSCTL_IS(ALL, "0");
	v6_on();
	SYSCTL_SET(DEFAULT, "0");

	// lo brought up while its IPv6 is off gets no ::1; turned on while
	// down, it gets it when it comes up.
	SYSCTL_SET(LO, "1");
	lo_set(0);
	lo_set(1);
	v6_off();
	lo_datagram_arrives(AF_INET);
	lo_set(0);
	SYSCTL_SET(LO, "0");
	CHECK_EQ(lo_v6_addresses(), 0);
	lo_set(1);
	v6_on();
	return 0;
}
