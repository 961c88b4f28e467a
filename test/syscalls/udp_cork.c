// udp_cork: MSG_MORE and UDP_CORK make one UDP datagram of several sends.
// A send with MSG_MORE (or any send while UDP_CORK is set) returns its
// length and holds the data; the next send without either sends it all as
// one datagram to the first send's address (later addresses are ignored);
// clearing UDP_CORK sends what is held. A datagram grown past 65507 bytes
// (IPv4) is EMSGSIZE and what was held is dropped. The first corked send
// of an unconnected socket without an address is EDESTADDRREQ. UDP_CORK
// reads back as set.
//
//go:build ignore

#include "inet_check.h"
#include <netinet/udp.h>

#ifndef UDP_CORK
#define UDP_CORK 1
#endif

static char big[70000];

static void expect(int r, const char *want) {
	char buf[64];
	CHECK(poll1(r, POLLIN, 2000) & POLLIN);
	ssize_t n = recv(r, buf, sizeof buf, MSG_DONTWAIT);
	if (n != (ssize_t)strlen(want) || memcmp(buf, want, n) != 0)
		FAIL("datagram %.*s (%zd bytes), want %s", (int)(n > 0 ? n : 0), buf, n, want);
}

static void nothing(int r) { CHECK_ERR(recv(r, big, sizeof big, MSG_DONTWAIT), EAGAIN); }

static void run(int family) {
	int r = socket(family, SOCK_DGRAM, 0), other = socket(family, SOCK_DGRAM, 0);
	int w = socket(family, SOCK_DGRAM, 0);
	CHECK(r >= 0 && other >= 0 && w >= 0);
	struct sockaddr_storage to, to2;
	socklen_t tolen;
	if (family == AF_INET) {
		struct sockaddr_in a = lo4(0);
		CHECK_OK(bind(r, (struct sockaddr *)&a, sizeof a));
		CHECK_OK(bind(other, (struct sockaddr *)&a, sizeof a));
		a = lo4(port_of(r));
		memcpy(&to, &a, sizeof a);
		a = lo4(port_of(other));
		memcpy(&to2, &a, sizeof a);
		tolen = sizeof a;
	} else {
		struct sockaddr_in6 a = lo6(0);
		CHECK_OK(bind(r, (struct sockaddr *)&a, sizeof a));
		CHECK_OK(bind(other, (struct sockaddr *)&a, sizeof a));
		a = lo6(port_of(r));
		memcpy(&to, &a, sizeof a);
		a = lo6(port_of(other));
		memcpy(&to2, &a, sizeof a);
		tolen = sizeof a;
	}
	struct sockaddr *dst = (struct sockaddr *)&to, *dst2 = (struct sockaddr *)&to2;

	// MSG_MORE: held until a send without it; the later address is
	// ignored.
	CHECK_EQ(sendto(w, "ab", 2, MSG_MORE, dst, tolen), 2);
	nothing(r);
	CHECK_EQ(sendto(w, "cd", 2, MSG_MORE, dst2, tolen), 2);
	CHECK_EQ(sendto(w, "ef", 2, 0, dst2, tolen), 2);
	expect(r, "abcdef");
	nothing(other);

	// UDP_CORK: held until cleared.
	CHECK_EQ(getint(w, SOL_UDP, UDP_CORK), 0);
	setint(w, SOL_UDP, UDP_CORK, 1);
	CHECK_EQ(getint(w, SOL_UDP, UDP_CORK), 1);
	CHECK_EQ(sendto(w, "12", 2, 0, dst, tolen), 2);
	CHECK_EQ(sendto(w, "34", 2, 0, dst, tolen), 2);
	nothing(r);
	setint(w, SOL_UDP, UDP_CORK, 0);
	expect(r, "1234");

	// Too big: EMSGSIZE, and the held data is gone.
	if (family == AF_INET) {
		CHECK_EQ(sendto(w, big, 60000, MSG_MORE, dst, tolen), 60000);
		CHECK_ERR(sendto(w, big, 6000, MSG_MORE, dst, tolen), EMSGSIZE);
		CHECK_EQ(sendto(w, "z", 1, 0, dst, tolen), 1);
		expect(r, "z");
	}

	// No address on an unconnected socket.
	CHECK_ERR(send(w, "x", 1, MSG_MORE), EDESTADDRREQ);

	// A connected socket.
	CHECK_OK(connect(w, dst, tolen));
	CHECK_EQ(send(w, "hel", 3, MSG_MORE), 3);
	CHECK_EQ(send(w, "lo", 2, 0), 2);
	expect(r, "hello");
	nothing(r);
	close(r);
	close(other);
	close(w);
}

int main(void) {
	run(AF_INET);
	run(AF_INET6);
	return 0;
}
