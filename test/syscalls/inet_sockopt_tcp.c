// inet_sockopt_tcp: SOL_TCP options: TCP_NODELAY, TCP_CORK,
// TCP_KEEPIDLE/TCP_KEEPINTVL/TCP_KEEPCNT round-trips and their range
// checks, TCP_INFO of an established connection, TCP_MAXSEG, SOL_TCP on
// an IPv4 UDP socket is EOPNOTSUPP, TCP_DEFER_ACCEPT rounded up to its
// retransmissions' time, TCP_FASTOPEN's queue length on a listener,
// TCP_CONGESTION among Linux's default allowed algorithms, TCP_THIN_DUPACK
// (0 or 1, always read as 0), TCP_ULP (none attached; an unknown name is
// ENOENT, an empty one EINVAL).
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

	// TCP_DEFER_ACCEPT counts SYN-ACK retransmissions (1 s doubling):
	// a time reads back as the retransmissions' it takes.
	int dsecs[][2] = {{0, 0}, {1, 1}, {2, 3}, {5, 7}, {30, 31}};
	for (int i = 0; i < 5; i++) {
		setint(c, SOL_TCP, TCP_DEFER_ACCEPT, dsecs[i][0]);
		CHECK_EQ(getint(c, SOL_TCP, TCP_DEFER_ACCEPT), dsecs[i][1]);
	}
	// TCP_FASTOPEN: a listener's (or a new socket's) queue length;
	// EINVAL once connected or negative.
	int l2 = listener(AF_INET, 4);
	CHECK_EQ(getint(l2, SOL_TCP, TCP_FASTOPEN), 0);
	setint(l2, SOL_TCP, TCP_FASTOPEN, 16);
	CHECK_EQ(getint(l2, SOL_TCP, TCP_FASTOPEN), 16);
	v = -1;
	CHECK_ERR(setsockopt(l2, SOL_TCP, TCP_FASTOPEN, &v, sizeof v), EINVAL);
	v = 5;
	CHECK_ERR(setsockopt(c, SOL_TCP, TCP_FASTOPEN, &v, sizeof v), EINVAL);
	// TCP_CONGESTION: reno and cubic are Linux's default allowed ones,
	// anyone's to pick; an unknown name is ENOENT.
	char ca[16];
	socklen_t cal = sizeof ca;
	CHECK_OK(setsockopt(c, SOL_TCP, TCP_CONGESTION, "reno", 4));
	CHECK_OK(getsockopt(c, SOL_TCP, TCP_CONGESTION, ca, &cal));
	CHECK(strcmp(ca, "reno") == 0);
	CHECK_OK(setsockopt(c, SOL_TCP, TCP_CONGESTION, "cubic\0junk", 10));
	cal = sizeof ca;
	CHECK_OK(getsockopt(c, SOL_TCP, TCP_CONGESTION, ca, &cal));
	CHECK(strcmp(ca, "cubic") == 0);
	CHECK_ERR(setsockopt(c, SOL_TCP, TCP_CONGESTION, "nosuchcc", 8), ENOENT);
	CHECK_ERR(setsockopt(c, SOL_TCP, TCP_CONGESTION, "", 0), EINVAL);
	// A client still connects to it and talks.
	int c2 = socket(AF_INET, SOCK_STREAM, 0);
	CHECK_OK(connect_to(c2, AF_INET, port_of(l2)));
	int a2 = accept(l2, NULL, NULL);
	CHECK(a2 >= 0);
	CHECK(write(c2, "x", 1) == 1);
	char ch;
	CHECK(read(a2, &ch, 1) == 1 && ch == 'x');
	int th = socket(AF_INET6, SOCK_STREAM, 0);
	CHECK_EQ(getint(th, SOL_TCP, TCP_THIN_DUPACK), 0);
	setint(th, SOL_TCP, TCP_THIN_DUPACK, 1);
	CHECK_EQ(getint(th, SOL_TCP, TCP_THIN_DUPACK), 0);
	int two = 2;
	CHECK_ERR(setsockopt(th, SOL_TCP, TCP_THIN_DUPACK, &two, sizeof two), EINVAL);
	char ulp[16] = "xx";
	socklen_t ulen = sizeof ulp;
	CHECK_OK(getsockopt(th, SOL_TCP, TCP_ULP, ulp, &ulen));
	CHECK_EQ(ulen, 0);
	CHECK_ERR(setsockopt(th, SOL_TCP, TCP_ULP, "nosuchulp", 10), ENOENT);
	CHECK_ERR(setsockopt(th, SOL_TCP, TCP_ULP, "", 0), EINVAL);
	close(th);
	return 0;
}
