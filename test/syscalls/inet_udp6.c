// inet_udp6: UDP over ::1, and a dual-stack IPv6 socket receiving from an
// IPv4 sender sees it as ::ffff:127.0.0.1.
//
//go:build ignore

#include "inet_check.h"

int main(void) {
	int s = socket(AF_INET6, SOCK_DGRAM, 0);
	int c = socket(AF_INET6, SOCK_DGRAM, 0);
	CHECK(s >= 0 && c >= 0);
	struct sockaddr_in6 any = {.sin6_family = AF_INET6, .sin6_addr = in6addr_any};
	CHECK_OK(bind(s, (struct sockaddr *)&any, sizeof any));
	int port = port_of(s);
	struct sockaddr_in6 a = lo6(port);
	CHECK_EQ(sendto(c, "six", 3, 0, (struct sockaddr *)&a, sizeof a), 3);
	char buf[8];
	struct sockaddr_in6 from;
	socklen_t fl = sizeof from;
	CHECK_EQ(recvfrom(s, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl), 3);
	CHECK_MEM(buf, "six", 3);
	CHECK_EQ(fl, sizeof from);
	CHECK(IN6_IS_ADDR_LOOPBACK(&from.sin6_addr));
	CHECK_EQ(ntohs(from.sin6_port), port_of(c));

	int c4 = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a4 = lo4(port);
	CHECK_EQ(sendto(c4, "four", 4, 0, (struct sockaddr *)&a4, sizeof a4), 4);
	fl = sizeof from;
	CHECK_EQ(recvfrom(s, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl), 4);
	CHECK(IN6_IS_ADDR_V4MAPPED(&from.sin6_addr));
	CHECK_EQ(from.sin6_addr.s6_addr[15], 1);
	CHECK_EQ(from.sin6_addr.s6_addr[12], 127);
	CHECK_EQ(ntohs(from.sin6_port), port_of(c4));
	close(s);
	close(c);
	close(c4);
	return 0;
}
