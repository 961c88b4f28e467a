// inet_v6only: IPV6_V6ONLY is off by default, so an IPv6 listener on ::
// accepts IPv4 connections (peer ::ffff:127.0.0.1); with it on, IPv4
// connections to the port are refused; it cannot change after bind.
//
//go:build ignore

#include "inet_check.h"

static int listen_any6(int v6only) {
	int l = socket(AF_INET6, SOCK_STREAM, 0);
	CHECK_EQ(getint(l, SOL_IPV6, IPV6_V6ONLY), 0);
	if (v6only)
		setint(l, SOL_IPV6, IPV6_V6ONLY, 1);
	struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_addr = in6addr_any};
	CHECK_OK(bind(l, (struct sockaddr *)&a, sizeof a));
	CHECK_OK(listen(l, 4));
	return l;
}

int main(void) {
	int l = listen_any6(0);
	int c = socket(AF_INET, SOCK_STREAM, 0);
	CHECK_OK(connect_to(c, AF_INET, port_of(l)));
	struct sockaddr_in6 p;
	socklen_t pl = sizeof p;
	int a = accept(l, (struct sockaddr *)&p, &pl);
	CHECK(a >= 0);
	CHECK_EQ(p.sin6_family, AF_INET6);
	CHECK(IN6_IS_ADDR_V4MAPPED(&p.sin6_addr));
	CHECK_EQ(p.sin6_addr.s6_addr[12], 127);
	CHECK_EQ(ntohs(p.sin6_port), port_of(c));
	int v = 1;
	CHECK_ERR(setsockopt(l, SOL_IPV6, IPV6_V6ONLY, &v, sizeof v), EINVAL);
	close(a);
	close(c);
	close(l);

	l = listen_any6(1);
	CHECK_EQ(getint(l, SOL_IPV6, IPV6_V6ONLY), 1);
	c = socket(AF_INET, SOCK_STREAM, 0);
	CHECK_ERR(connect_to(c, AF_INET, port_of(l)), ECONNREFUSED);
	close(c);
	c = socket(AF_INET6, SOCK_STREAM, 0);
	CHECK_OK(connect_to(c, AF_INET6, port_of(l)));
	return 0;
}
