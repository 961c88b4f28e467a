// inet_getsockname: an unbound socket's name is 0.0.0.0:0 (::, port 0
// for IPv6); bind to port 0 picks an ephemeral port; connect binds a UDP
// socket implicitly; getpeername of an unconnected socket is ENOTCONN;
// a short buffer gets the truncated address and the full length.
//
//go:build ignore

#include "inet_check.h"

int main(void) {
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a;
	socklen_t l = sizeof a;
	memset(&a, 0xff, sizeof a);
	CHECK_OK(getsockname(s, (struct sockaddr *)&a, &l));
	CHECK_EQ(l, sizeof a);
	CHECK_EQ(a.sin_family, AF_INET);
	CHECK_EQ(a.sin_port, 0);
	CHECK_EQ(a.sin_addr.s_addr, 0);
	CHECK_ERR(getpeername(s, (struct sockaddr *)&a, &l), ENOTCONN);

	struct sockaddr_in b = lo4(0);
	CHECK_OK(bind(s, (struct sockaddr *)&b, sizeof b));
	l = sizeof a;
	CHECK_OK(getsockname(s, (struct sockaddr *)&a, &l));
	CHECK(ntohs(a.sin_port) > 0);
	CHECK_EQ(ntohl(a.sin_addr.s_addr), INADDR_LOOPBACK);

	int u = socket(AF_INET, SOCK_DGRAM, 0);
	b = lo4(ntohs(a.sin_port));
	CHECK_OK(connect(u, (struct sockaddr *)&b, sizeof b));
	l = sizeof a;
	CHECK_OK(getsockname(u, (struct sockaddr *)&a, &l));
	CHECK(ntohs(a.sin_port) > 0);
	CHECK_EQ(ntohl(a.sin_addr.s_addr), INADDR_LOOPBACK);
	l = sizeof a;
	CHECK_OK(getpeername(u, (struct sockaddr *)&a, &l));
	CHECK_EQ(ntohs(a.sin_port), port_of(s));

	char small[6];
	l = sizeof small;
	CHECK_OK(getsockname(u, (struct sockaddr *)small, &l));
	CHECK_EQ(l, sizeof(struct sockaddr_in));

	int s6 = socket(AF_INET6, SOCK_STREAM, 0);
	struct sockaddr_in6 a6;
	l = sizeof a6;
	CHECK_OK(getsockname(s6, (struct sockaddr *)&a6, &l));
	CHECK_EQ(l, sizeof a6);
	CHECK_EQ(a6.sin6_family, AF_INET6);
	CHECK_EQ(a6.sin6_port, 0);
	CHECK(IN6_IS_ADDR_UNSPECIFIED(&a6.sin6_addr));
	return 0;
}
