// inet_connect_nonblock: a non-blocking TCP connect returns EINPROGRESS
// (or succeeds at once on loopback), becomes writable, reports SO_ERROR
// 0, and a second connect says EISCONN; accept finds the connection.
//
//go:build ignore

#include "inet_check.h"

int main(void) {
	int l = listener(AF_INET, 4);
	int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	CHECK(c >= 0);
	CHECK(fcntl(c, F_GETFL) & O_NONBLOCK);
	int r = connect_to(c, AF_INET, port_of(l));
	if (r < 0)
		CHECK_EQ(errno, EINPROGRESS);
	CHECK(poll1(c, POLLOUT, 5000) & POLLOUT);
	CHECK_EQ(getint(c, SOL_SOCKET, SO_ERROR), 0);
	// Linux answers the first connect after completion with 0 or
	// EISCONN, depending on whether the first call saw the handshake
	// finish; the second is always EISCONN.
	r = connect_to(c, AF_INET, port_of(l));
	if (r < 0)
		CHECK_EQ(errno, EISCONN);
	CHECK_ERR(connect_to(c, AF_INET, port_of(l)), EISCONN);
	int a = accept(l, NULL, NULL);
	CHECK(a >= 0);
	CHECK_EQ(write(c, "z", 1), 1);
	char b;
	CHECK_EQ(read(a, &b, 1), 1);
	CHECK_EQ(b, 'z');
	// Nothing to read on the non-blocking client.
	CHECK_ERR(read(c, &b, 1), EAGAIN);
	close(a);
	close(c);
	close(l);
	return 0;
}
