// inet_sockopt_ip: SOL_IP and SOL_IPV6 options: IP_TTL (default 64, range
// 1..255, -1 restores the default), IP_TOS, IPV6_UNICAST_HOPS,
// IPV6_TCLASS, IP_MULTICAST_TTL/LOOP, SOL_IPV6 on an IPv4 socket is
// EOPNOTSUPP, IP_MTU_DISCOVER and IPV6_MTU_DISCOVER (each family's
// own).
//
//go:build ignore

#include "inet_check.h"

int main(void) {
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	CHECK_EQ(getint(s, SOL_IP, IP_TTL), 64);
	setint(s, SOL_IP, IP_TTL, 5);
	CHECK_EQ(getint(s, SOL_IP, IP_TTL), 5);
	int v = 0;
	CHECK_ERR(setsockopt(s, SOL_IP, IP_TTL, &v, sizeof v), EINVAL);
	v = 256;
	CHECK_ERR(setsockopt(s, SOL_IP, IP_TTL, &v, sizeof v), EINVAL);
	setint(s, SOL_IP, IP_TTL, -1);
	CHECK_EQ(getint(s, SOL_IP, IP_TTL), 64);

	CHECK_EQ(getint(s, SOL_IP, IP_TOS), 0);
	setint(s, SOL_IP, IP_TOS, 0x10);
	CHECK_EQ(getint(s, SOL_IP, IP_TOS), 0x10);

	CHECK_EQ(getint(s, SOL_IP, IP_MULTICAST_TTL), 1);
	setint(s, SOL_IP, IP_MULTICAST_TTL, 9);
	CHECK_EQ(getint(s, SOL_IP, IP_MULTICAST_TTL), 9);
	CHECK_EQ(getint(s, SOL_IP, IP_MULTICAST_LOOP), 1);
	setint(s, SOL_IP, IP_MULTICAST_LOOP, 0);
	CHECK_EQ(getint(s, SOL_IP, IP_MULTICAST_LOOP), 0);

	socklen_t l = sizeof v;
	CHECK_ERR(getsockopt(s, SOL_IPV6, IPV6_V6ONLY, &v, &l), EOPNOTSUPP);

	int t = socket(AF_INET6, SOCK_STREAM, 0);
	CHECK_EQ(getint(t, SOL_IPV6, IPV6_UNICAST_HOPS), 64);
	setint(t, SOL_IPV6, IPV6_UNICAST_HOPS, 33);
	CHECK_EQ(getint(t, SOL_IPV6, IPV6_UNICAST_HOPS), 33);
	setint(t, SOL_IPV6, IPV6_UNICAST_HOPS, -1);
	CHECK_EQ(getint(t, SOL_IPV6, IPV6_UNICAST_HOPS), 64);
	v = 256;
	CHECK_ERR(setsockopt(t, SOL_IPV6, IPV6_UNICAST_HOPS, &v, sizeof v), EINVAL);
	setint(t, SOL_IPV6, IPV6_TCLASS, 0x20);
	CHECK_EQ(getint(t, SOL_IPV6, IPV6_TCLASS), 0x20);

	// IP_MTU_DISCOVER and IPV6_MTU_DISCOVER: WANT until set, DONT..OMIT.
	int u = socket(AF_INET, SOCK_DGRAM, 0);
	CHECK_EQ(getint(u, SOL_IP, IP_MTU_DISCOVER), IP_PMTUDISC_WANT);
	for (int m = IP_PMTUDISC_DONT; m <= IP_PMTUDISC_OMIT; m++) {
		setint(u, SOL_IP, IP_MTU_DISCOVER, m);
		CHECK_EQ(getint(u, SOL_IP, IP_MTU_DISCOVER), m);
	}
	v = IP_PMTUDISC_OMIT + 1;
	CHECK_ERR(setsockopt(u, SOL_IP, IP_MTU_DISCOVER, &v, sizeof v), EINVAL);
	int u6 = socket(AF_INET6, SOCK_DGRAM, 0);
	CHECK_EQ(getint(u6, SOL_IPV6, IPV6_MTU_DISCOVER), IPV6_PMTUDISC_WANT);
	setint(u6, SOL_IPV6, IPV6_MTU_DISCOVER, IPV6_PMTUDISC_DO);
	setint(u6, SOL_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DONT);
	CHECK_EQ(getint(u6, SOL_IPV6, IPV6_MTU_DISCOVER), IPV6_PMTUDISC_DO);
	CHECK_EQ(getint(u6, SOL_IP, IP_MTU_DISCOVER), IP_PMTUDISC_DONT);
	CHECK_EQ(getint(t, SOL_IPV6, IPV6_MTU_DISCOVER), IPV6_PMTUDISC_WANT);
	return 0;
}
