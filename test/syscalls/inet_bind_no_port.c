// inet_bind_no_port: IP_BIND_ADDRESS_NO_PORT, as a proxy binding each
// upstream connection to a source address sets it (Istio's sidecar binds
// inbound connections to 127.0.0.6). A bind to an address with port 0
// takes the address only: getsockname shows port 0 until connect picks
// one, and the peer sees the address. An address the host does not have
// is still EADDRNOTAVAIL; a UDP socket's send picks the port the same
// way; without the option the bind takes a port at once.
//
//go:build ignore

#include "inet_check.h"
#include <arpa/inet.h>

static struct sockaddr_in addr4(const char *ip, int port) {
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	CHECK_EQ(inet_pton(AF_INET, ip, &a.sin_addr), 1);
	return a;
}

static void name_is(int fd, const char *ip, int zero_port) {
	struct sockaddr_in a;
	socklen_t l = sizeof a;
	CHECK_OK(getsockname(fd, (struct sockaddr *)&a, &l));
	char buf[32];
	inet_ntop(AF_INET, &a.sin_addr, buf, sizeof buf);
	if (strcmp(buf, ip) != 0)
		FAIL("bound to %s, want %s", buf, ip);
	if (zero_port != (a.sin_port == 0))
		FAIL("port %d", ntohs(a.sin_port));
}

int main(void) {
	int l = listener(AF_INET, 4);
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(s >= 0);
	CHECK_EQ(getint(s, SOL_IP, IP_BIND_ADDRESS_NO_PORT), 0);
	setint(s, SOL_IP, IP_BIND_ADDRESS_NO_PORT, 1);
	CHECK_EQ(getint(s, SOL_IP, IP_BIND_ADDRESS_NO_PORT), 1);
	struct sockaddr_in far = addr4("10.11.12.13", 0);
	CHECK_ERR(bind(s, (struct sockaddr *)&far, sizeof far), EADDRNOTAVAIL);
	struct sockaddr_in src = addr4("127.0.0.6", 0);
	CHECK_OK(bind(s, (struct sockaddr *)&src, sizeof src));
	name_is(s, "127.0.0.6", 1);
	CHECK_OK(connect_to(s, AF_INET, port_of(l)));
	name_is(s, "127.0.0.6", 0);
	struct sockaddr_in peer;
	socklen_t pl = sizeof peer;
	int a = accept(l, (struct sockaddr *)&peer, &pl);
	CHECK(a >= 0);
	CHECK_EQ(ntohl(peer.sin_addr.s_addr), 0x7f000006);
	CHECK_EQ(ntohs(peer.sin_port), port_of(s));
	close(a);
	close(s);

	// UDP: the first send picks the port.
	int r = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in ra = lo4(0);
	CHECK_OK(bind(r, (struct sockaddr *)&ra, sizeof ra));
	int u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	setint(u, SOL_IP, IP_BIND_ADDRESS_NO_PORT, 1);
	CHECK_OK(bind(u, (struct sockaddr *)&src, sizeof src));
	name_is(u, "127.0.0.6", 1);
	struct sockaddr_in to = lo4(port_of(r));
	CHECK(sendto(u, "x", 1, 0, (struct sockaddr *)&to, sizeof to) == 1);
	name_is(u, "127.0.0.6", 0);
	char b;
	pl = sizeof peer;
	CHECK(recvfrom(r, &b, 1, 0, (struct sockaddr *)&peer, &pl) == 1);
	CHECK_EQ(ntohl(peer.sin_addr.s_addr), 0x7f000006);
	close(u);
	close(r);

	// Without the option the bind takes a port at once.
	s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK_OK(bind(s, (struct sockaddr *)&src, sizeof src));
	name_is(s, "127.0.0.6", 0);
	close(s);
	close(l);
	return 0;
}
