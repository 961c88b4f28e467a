// inet_sockopt_ip: SOL_IP and SOL_IPV6 options: IP_TTL (default 64, range
// 1..255, -1 restores the default), IP_TOS, IPV6_UNICAST_HOPS,
// IPV6_TCLASS, IP_MULTICAST_TTL/LOOP, SOL_IPV6 on an IPv4 socket is
// EOPNOTSUPP, IP_MTU_DISCOVER and IPV6_MTU_DISCOVER (each family's
// own); IP_HDRINCL (off, raw sockets only); a TCP socket's multicast
// options (an interface it reads as INADDR_ANY and may not set, no TTL,
// no groups: EPROTO).
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
	int t4 = socket(AF_INET, SOCK_STREAM, 0), d = socket(AF_INET6, SOCK_DGRAM, 0);
	CHECK_EQ(getint(t4, SOL_IP, IP_HDRINCL), 0);
	CHECK_EQ(getint(d, SOL_IP, IP_HDRINCL), 0);
	int on = 1;
	CHECK_ERR(setsockopt(t4, SOL_IP, IP_HDRINCL, &on, sizeof on), ENOPROTOOPT);
	CHECK_ERR(setsockopt(d, SOL_IP, IP_HDRINCL, &on, sizeof on), ENOPROTOOPT);
	struct in_addr mif = {.s_addr = 0x01020304};
	socklen_t ml = sizeof mif;
	CHECK_OK(getsockopt(t4, SOL_IP, IP_MULTICAST_IF, &mif, &ml));
	CHECK_EQ(ml, sizeof mif);
	CHECK_EQ(mif.s_addr, INADDR_ANY);
	CHECK_ERR(setsockopt(t4, SOL_IP, IP_MULTICAST_IF, &mif, sizeof mif), EINVAL);
	CHECK_ERR(setsockopt(t4, SOL_IP, IP_MULTICAST_TTL, &on, sizeof on), EINVAL);
	setint(t4, SOL_IP, IP_MULTICAST_LOOP, 0);
	struct ip_mreq mr = {.imr_multiaddr.s_addr = htonl(0xe0010101)};
	CHECK_ERR(setsockopt(t4, SOL_IP, IP_ADD_MEMBERSHIP, &mr, sizeof mr), EPROTO);
	CHECK_ERR(setsockopt(t4, SOL_IP, IP_DROP_MEMBERSHIP, &mr, sizeof mr), EPROTO);
	close(t4);
	close(d);
	return 0;
}
