// inet_addrinuse: binding a port in use is EADDRINUSE; SO_REUSEPORT on
// both sockets lets two listeners share it; binding a non-local address
// is EADDRNOTAVAIL; binding twice is EINVAL; SO_REUSEADDR lets a new
// listener take the port of a closed connection's listener at once.
//
//go:build ignore

#include "inet_check.h"

int main(void) {
	int l = listener(AF_INET, 4);
	int port = port_of(l);
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = lo4(port);
	CHECK_ERR(bind(s, (struct sockaddr *)&a, sizeof a), EADDRINUSE);
	struct sockaddr_in any = {.sin_family = AF_INET, .sin_port = htons(port)};
	CHECK_ERR(bind(s, (struct sockaddr *)&any, sizeof any), EADDRINUSE);
	close(s);

	int r1 = socket(AF_INET, SOCK_STREAM, 0), r2 = socket(AF_INET, SOCK_STREAM, 0);
	setint(r1, SOL_SOCKET, SO_REUSEPORT, 1);
	setint(r2, SOL_SOCKET, SO_REUSEPORT, 1);
	a = lo4(0);
	CHECK_OK(bind(r1, (struct sockaddr *)&a, sizeof a));
	a = lo4(port_of(r1));
	CHECK_OK(bind(r2, (struct sockaddr *)&a, sizeof a));
	CHECK_OK(listen(r1, 1));
	CHECK_OK(listen(r2, 1));
	CHECK_ERR(bind(r2, (struct sockaddr *)&a, sizeof a), EINVAL);

	int u = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in far = {.sin_family = AF_INET};
	far.sin_addr.s_addr = inet_addr("192.0.2.1");
	CHECK_ERR(bind(u, (struct sockaddr *)&far, sizeof far), EADDRNOTAVAIL);
	a = lo4(0);
	CHECK_ERR(bind(u, (struct sockaddr *)&a, 8), EINVAL);
	struct sockaddr_in6 a6 = lo6(0);
	CHECK_ERR(bind(u, (struct sockaddr *)&a6, sizeof a6), EAFNOSUPPORT);

	// A connection whose server side closes first leaves TIME_WAIT on
	// the listener's port; SO_REUSEADDR rebinds it.
	int c, s2;
	int l2 = socket(AF_INET, SOCK_STREAM, 0);
	setint(l2, SOL_SOCKET, SO_REUSEADDR, 1);
	a = lo4(0);
	CHECK_OK(bind(l2, (struct sockaddr *)&a, sizeof a));
	CHECK_OK(listen(l2, 1));
	int p2 = port_of(l2);
	c = socket(AF_INET, SOCK_STREAM, 0);
	CHECK_OK(connect_to(c, AF_INET, p2));
	s2 = accept(l2, NULL, NULL);
	CHECK(s2 >= 0);
	close(s2);
	close(l2);
	char b;
	CHECK_EQ(read(c, &b, 1), 0);
	close(c);
	int l3 = socket(AF_INET, SOCK_STREAM, 0);
	setint(l3, SOL_SOCKET, SO_REUSEADDR, 1);
	a = lo4(p2);
	CHECK_OK(bind(l3, (struct sockaddr *)&a, sizeof a));
	CHECK_OK(listen(l3, 1));
	return 0;
}
