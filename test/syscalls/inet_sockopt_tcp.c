// inet_sockopt_tcp: SOL_TCP options: TCP_NODELAY, TCP_CORK,
// TCP_KEEPIDLE/TCP_KEEPINTVL/TCP_KEEPCNT round-trips and their range
// checks, TCP_INFO of an established connection, TCP_MAXSEG, and SOL_TCP
// on an IPv4 UDP socket is EOPNOTSUPP.
//
//go:build ignore

#include "inet_check.h"

int main(void) {
	int c, a;
	tcp_pair(AF_INET, &c, &a);
	CHECK_EQ(getint(c, SOL_TCP, TCP_NODELAY), 0);
	setint(c, SOL_TCP, TCP_NODELAY, 1);
	CHECK_EQ(getint(c, SOL_TCP, TCP_NODELAY), 1);
	CHECK_EQ(getint(c, SOL_TCP, TCP_CORK), 0);
	setint(c, SOL_TCP, TCP_CORK, 1);
	CHECK_EQ(getint(c, SOL_TCP, TCP_CORK), 1);
	setint(c, SOL_TCP, TCP_CORK, 0);

	setint(c, SOL_TCP, TCP_KEEPIDLE, 77);
	CHECK_EQ(getint(c, SOL_TCP, TCP_KEEPIDLE), 77);
	setint(c, SOL_TCP, TCP_KEEPINTVL, 11);
	CHECK_EQ(getint(c, SOL_TCP, TCP_KEEPINTVL), 11);
	setint(c, SOL_TCP, TCP_KEEPCNT, 5);
	CHECK_EQ(getint(c, SOL_TCP, TCP_KEEPCNT), 5);
	int v = 0;
	CHECK_ERR(setsockopt(c, SOL_TCP, TCP_KEEPIDLE, &v, sizeof v), EINVAL);
	CHECK_ERR(setsockopt(c, SOL_TCP, TCP_KEEPINTVL, &v, sizeof v), EINVAL);
	CHECK_ERR(setsockopt(c, SOL_TCP, TCP_KEEPCNT, &v, sizeof v), EINVAL);
	v = 128;
	CHECK_ERR(setsockopt(c, SOL_TCP, TCP_KEEPCNT, &v, sizeof v), EINVAL);
	v = 32768;
	CHECK_ERR(setsockopt(c, SOL_TCP, TCP_KEEPIDLE, &v, sizeof v), EINVAL);

	struct tcp_info ti;
	socklen_t l = sizeof ti;
	memset(&ti, 0xff, sizeof ti);
	CHECK_OK(getsockopt(c, SOL_TCP, TCP_INFO, &ti, &l));
	CHECK(l > 0 && l <= sizeof ti);
	CHECK_EQ(ti.tcpi_state, TCP_ESTABLISHED);
	CHECK(getint(c, SOL_TCP, TCP_MAXSEG) > 0);

	int u = socket(AF_INET, SOCK_DGRAM, 0);
	l = sizeof v;
	CHECK_ERR(getsockopt(u, SOL_TCP, TCP_NODELAY, &v, &l), EOPNOTSUPP);
	CHECK_ERR(getsockopt(c, SOL_TCP, 9999, &v, &l), ENOPROTOOPT);
	return 0;
}
