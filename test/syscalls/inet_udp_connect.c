// inet_udp_connect: a connected UDP socket sends without an address,
// receives only from its peer (other senders' datagrams are dropped),
// and connect(AF_UNSPEC) dissolves the association.
//
//go:build ignore

#include "inet_check.h"

static int bound_udp(void) {
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = lo4(0);
	CHECK_OK(bind(s, (struct sockaddr *)&a, sizeof a));
	return s;
}

int main(void) {
	int s = bound_udp(), peer = bound_udp(), other = bound_udp();
	struct sockaddr_in pa = lo4(port_of(peer)), sa = lo4(port_of(s));
	CHECK_OK(connect(s, (struct sockaddr *)&pa, sizeof pa));
	CHECK_EQ(send(s, "hi", 2, 0), 2);
	char buf[8];
	CHECK_EQ(recv(peer, buf, sizeof buf, 0), 2);

	CHECK_EQ(sendto(other, "no", 2, 0, (struct sockaddr *)&sa, sizeof sa), 2);
	CHECK_EQ(sendto(peer, "yes", 3, 0, (struct sockaddr *)&sa, sizeof sa), 3);
	CHECK(poll1(s, POLLIN, 5000) & POLLIN);
	CHECK_EQ(recv(s, buf, sizeof buf, 0), 3);
	CHECK_MEM(buf, "yes", 3);
	CHECK_ERR(recv(s, buf, sizeof buf, MSG_DONTWAIT), EAGAIN);

	struct sockaddr un = {.sa_family = AF_UNSPEC};
	CHECK_OK(connect(s, &un, sizeof un));
	socklen_t l = sizeof pa;
	CHECK_ERR(getpeername(s, (struct sockaddr *)&pa, &l), ENOTCONN);
	CHECK_ERR(send(s, "x", 1, 0), EDESTADDRREQ);
	return 0;
}
