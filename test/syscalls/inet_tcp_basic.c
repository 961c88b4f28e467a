// inet_tcp_basic: a TCP client and server over 127.0.0.1 in one process:
// socket, bind to port 0, listen, connect, accept with the peer's
// address, data both ways with read/write and send/recv, orderly close
// (read returns 0 after the peer's close).
//
//go:build ignore

#include "inet_check.h"

int main(void) {
	int l = listener(AF_INET, 8);
	int port = port_of(l);
	CHECK(port > 0);
	int c = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(c >= 0);
	CHECK_OK(connect_to(c, AF_INET, port));
	struct sockaddr_in peer;
	socklen_t pl = sizeof peer;
	int a = accept(l, (struct sockaddr *)&peer, &pl);
	CHECK(a >= 0);
	CHECK_EQ(pl, sizeof peer);
	CHECK_EQ(peer.sin_family, AF_INET);
	CHECK_EQ(ntohl(peer.sin_addr.s_addr), INADDR_LOOPBACK);
	CHECK_EQ(ntohs(peer.sin_port), port_of(c));

	// getpeername on both ends mirrors getsockname.
	struct sockaddr_in pn;
	socklen_t pnl = sizeof pn;
	CHECK_OK(getpeername(c, (struct sockaddr *)&pn, &pnl));
	CHECK_EQ(ntohs(pn.sin_port), port);

	CHECK_EQ(write(c, "hello", 5), 5);
	char buf[16] = {0};
	CHECK_EQ(read(a, buf, sizeof buf), 5);
	CHECK_MEM(buf, "hello", 5);
	CHECK_EQ(send(a, "world!", 6, 0), 6);
	CHECK_EQ(recv(c, buf, sizeof buf, 0), 6);
	CHECK_MEM(buf, "world!", 6);

	// A listener is not connected; a connected socket is not listening.
	CHECK_ERR(getpeername(l, (struct sockaddr *)&pn, &pnl), ENOTCONN);
	CHECK_EQ(getint(l, SOL_SOCKET, SO_ACCEPTCONN), 1);
	CHECK_EQ(getint(c, SOL_SOCKET, SO_ACCEPTCONN), 0);

	close(c);
	CHECK_EQ(read(a, buf, sizeof buf), 0);
	close(a);
	close(l);
	return 0;
}
