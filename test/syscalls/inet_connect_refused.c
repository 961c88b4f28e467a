// inet_connect_refused: connecting to a loopback port nobody listens on
// fails with ECONNREFUSED, blocking or (after EINPROGRESS) through
// SO_ERROR and POLLERR; a socket that was bound and closed frees its
// port for that purpose too.
//
//go:build ignore

#include "inet_check.h"

int main(void) {
	// Find a free port: bind, note it, close.
	int t = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = lo4(0);
	CHECK_OK(bind(t, (struct sockaddr *)&a, sizeof a));
	int port = port_of(t);
	close(t);

	int c = socket(AF_INET, SOCK_STREAM, 0);
	CHECK_ERR(connect_to(c, AF_INET, port), ECONNREFUSED);
	close(c);

	c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	int r = connect_to(c, AF_INET, port);
	if (r < 0 && errno == EINPROGRESS) {
		short ev = poll1(c, POLLOUT, 5000);
		CHECK(ev & POLLERR);
		CHECK_EQ(getint(c, SOL_SOCKET, SO_ERROR), ECONNREFUSED);
		CHECK_EQ(getint(c, SOL_SOCKET, SO_ERROR), 0);
	} else {
		CHECK_EQ(r, -1);
		CHECK_EQ(errno, ECONNREFUSED);
	}
	close(c);

	c = socket(AF_INET6, SOCK_STREAM, 0);
	CHECK_ERR(connect_to(c, AF_INET6, port), ECONNREFUSED);
	close(c);
	return 0;
}
