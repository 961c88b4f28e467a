// inet_poll: poll readiness of TCP sockets as tcp_poll reports it: a new
// socket is POLLOUT|POLLHUP, a listener POLLIN once a connection waits, a
// connected socket POLLOUT and POLLIN with data, POLLRDHUP after the
// peer's FIN; a UDP socket is POLLOUT and POLLIN with a datagram.
//
//go:build ignore

#include "inet_check.h"

#define ALL (POLLIN | POLLOUT | POLLRDHUP)

int main(void) {
	int s = socket(AF_INET, SOCK_STREAM, 0);
	CHECK_EQ(poll1(s, ALL, 0), POLLOUT | POLLHUP);
	int l = listener(AF_INET, 4);
	CHECK_EQ(poll1(l, ALL, 0), 0);
	CHECK_OK(connect_to(s, AF_INET, port_of(l)));
	CHECK_EQ(poll1(l, ALL, 5000), POLLIN);
	int a = accept(l, NULL, NULL);
	CHECK(a >= 0);
	CHECK_EQ(poll1(l, ALL, 0), 0);
	CHECK_EQ(poll1(s, ALL, 0), POLLOUT);
	CHECK_EQ(write(s, "x", 1), 1);
	// poll returns once any event is ready: wait for the data alone,
	// since netstack delivers loopback segments asynchronously.
	CHECK(poll1(a, POLLIN, 5000) & POLLIN);
	CHECK_EQ(poll1(a, ALL, 0), POLLIN | POLLOUT);
	close(s);
	CHECK_EQ(poll1(a, POLLRDHUP, 5000), POLLRDHUP);
	CHECK_EQ(poll1(a, ALL, 0), POLLIN | POLLOUT | POLLRDHUP);

	int u = socket(AF_INET, SOCK_DGRAM, 0);
	CHECK_EQ(poll1(u, ALL, 0), POLLOUT);
	struct sockaddr_in sa = lo4(0);
	CHECK_OK(bind(u, (struct sockaddr *)&sa, sizeof sa));
	sa = lo4(port_of(u));
	CHECK_EQ(sendto(u, "d", 1, 0, (struct sockaddr *)&sa, sizeof sa), 1);
	CHECK(poll1(u, POLLIN, 5000) & POLLIN);
	CHECK_EQ(poll1(u, ALL, 0), POLLIN | POLLOUT);
	return 0;
}
