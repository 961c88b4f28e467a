// inet_udp_basic: UDP over 127.0.0.1: sendto/recvfrom with the source
// address, datagram boundaries kept, a zero-length datagram, sendto
// without an address on an unconnected socket is EDESTADDRREQ.
//
//go:build ignore

#include "inet_check.h"

int main(void) {
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	int c = socket(AF_INET, SOCK_DGRAM, 0);
	CHECK(s >= 0 && c >= 0);
	struct sockaddr_in a = lo4(0);
	CHECK_OK(bind(s, (struct sockaddr *)&a, sizeof a));
	a = lo4(port_of(s));
	CHECK_EQ(sendto(c, "one", 3, 0, (struct sockaddr *)&a, sizeof a), 3);
	CHECK_EQ(sendto(c, "two!", 4, 0, (struct sockaddr *)&a, sizeof a), 4);
	CHECK_EQ(sendto(c, "", 0, 0, (struct sockaddr *)&a, sizeof a), 0);
	// The sender got an ephemeral port on its first send.
	CHECK(port_of(c) > 0);

	char buf[16];
	struct sockaddr_in from;
	socklen_t fl = sizeof from;
	CHECK_EQ(recvfrom(s, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl), 3);
	CHECK_MEM(buf, "one", 3);
	CHECK_EQ(fl, sizeof from);
	CHECK_EQ(from.sin_family, AF_INET);
	CHECK_EQ(ntohs(from.sin_port), port_of(c));
	CHECK_EQ(ntohl(from.sin_addr.s_addr), INADDR_LOOPBACK);
	CHECK_EQ(recv(s, buf, sizeof buf, 0), 4);
	CHECK_MEM(buf, "two!", 4);
	CHECK_EQ(recv(s, buf, sizeof buf, 0), 0);
	CHECK_ERR(recv(s, buf, sizeof buf, MSG_DONTWAIT), EAGAIN);

	// Reply to the address recvfrom reported.
	CHECK_EQ(sendto(s, "back", 4, 0, (struct sockaddr *)&from, fl), 4);
	CHECK_EQ(recv(c, buf, sizeof buf, 0), 4);
	CHECK_MEM(buf, "back", 4);

	CHECK_ERR(send(c, "x", 1, 0), EDESTADDRREQ);
	// A short address is EINVAL.
	CHECK_ERR(sendto(c, "x", 1, 0, (struct sockaddr *)&a, 8), EINVAL);
	close(s);
	close(c);
	return 0;
}
