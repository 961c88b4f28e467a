// inet_raw: raw IPv4 sockets (ping's and iptables'), in a fresh network
// namespace: protocol 0 is refused, one past IPPROTO_MAX is EINVAL for
// every socket type; an ICMP raw socket sends an echo
// request the caller built and receives the reply with its IP header;
// an IPPROTO_RAW socket sends a whole IP packet (the kernel fills in the
// header checksum) that reaches a UDP socket, and receives nothing.
//
//go:build ignore

#include "inet_check.h"
#include "ns_check.h"
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <netinet/udp.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

static uint16_t checksum(const void *p, size_t n) {
	const uint8_t *b = p;
	uint32_t sum = 0;
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (b[i] << 8) | b[i + 1];
	if (n & 1)
		sum += b[n - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons(~sum);
}

int main(void) {
	if (geteuid() != 0)
		return 0; // raw sockets need CAP_NET_RAW, a namespace CAP_SYS_ADMIN
	CHECK_OK(unshare(CLONE_NEWNET));
	set_lo_up(1);
	CHECK_ERR(socket(AF_INET, SOCK_RAW, 0), EPROTONOSUPPORT);
	// Protocols past IPPROTO_MAX (263) are EINVAL for every type.
	CHECK_ERR(socket(AF_INET, SOCK_RAW, 300), EINVAL);
	CHECK_ERR(socket(AF_INET6, SOCK_STREAM, 300), EINVAL);
	CHECK_ERR(socket(AF_INET, SOCK_DGRAM, 263), EINVAL);

	struct sockaddr_in lo = lo4(0);

	// ICMP: the caller builds the header and its checksum.
	int icmp = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
	CHECK(icmp >= 0);
	int v;
	socklen_t vl = sizeof v;
	CHECK_OK(getsockopt(icmp, SOL_SOCKET, SO_TYPE, &v, &vl));
	CHECK_EQ(v, SOCK_RAW);
	CHECK_OK(getsockopt(icmp, SOL_SOCKET, SO_PROTOCOL, &v, &vl));
	CHECK_EQ(v, IPPROTO_ICMP);
	struct {
		struct icmphdr h;
		char data[8];
	} req = {.h = {.type = ICMP_ECHO, .un.echo = {.id = htons(0x4242), .sequence = htons(7)}}, .data = "cocoon!"};
	req.h.checksum = checksum(&req, sizeof req);
	CHECK_EQ(sendto(icmp, &req, sizeof req, 0, (struct sockaddr *)&lo, sizeof lo), sizeof req);
	// The raw socket sees every ICMP packet that arrives: the request
	// looping back, then the reply.
	int replies = 0;
	for (int i = 0; i < 2 && !replies; i++) {
		char buf[256];
		CHECK(poll1(icmp, POLLIN, 5000) & POLLIN);
		struct sockaddr_in from;
		socklen_t fl = sizeof from;
		ssize_t n = recvfrom(icmp, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
		CHECK_EQ(n, sizeof(struct iphdr) + sizeof req);
		CHECK_EQ(ntohl(from.sin_addr.s_addr), INADDR_LOOPBACK);
		struct iphdr *ip = (struct iphdr *)buf;
		CHECK_EQ(ip->version, 4);
		CHECK_EQ(ip->protocol, IPPROTO_ICMP);
		struct icmphdr *h = (struct icmphdr *)(buf + ip->ihl * 4);
		CHECK_EQ(ntohs(h->un.echo.id), 0x4242);
		CHECK_EQ(ntohs(h->un.echo.sequence), 7);
		CHECK_EQ(memcmp(h + 1, "cocoon!", 8), 0);
		if (h->type == ICMP_ECHOREPLY)
			replies++;
		else
			CHECK_EQ(h->type, ICMP_ECHO);
	}
	CHECK_EQ(replies, 1);

	// IPPROTO_RAW: a whole UDP datagram, header checksum left to the
	// kernel, to a UDP socket.
	int u = socket(AF_INET, SOCK_DGRAM, 0);
	CHECK(u >= 0);
	struct sockaddr_in ua = lo;
	ua.sin_port = htons(5353);
	CHECK_OK(bind(u, (struct sockaddr *)&ua, sizeof ua));
	int r = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
	CHECK(r >= 0);
	struct {
		struct iphdr ip;
		struct udphdr udp;
		char data[4];
	} pkt = {
		.ip = {.version = 4, .ihl = 5, .ttl = 64, .protocol = IPPROTO_UDP, .tot_len = htons(sizeof pkt)},
		.udp = {.source = htons(1111), .dest = htons(5353), .len = htons(sizeof pkt.udp + 4)},
		.data = "raw",
	};
	pkt.ip.saddr = pkt.ip.daddr = htonl(INADDR_LOOPBACK);
	CHECK_EQ(sendto(r, &pkt, sizeof pkt, 0, (struct sockaddr *)&lo, sizeof lo), sizeof pkt);
	CHECK(poll1(u, POLLIN, 5000) & POLLIN);
	char got[8];
	struct sockaddr_in from;
	socklen_t fl = sizeof from;
	CHECK_EQ(recvfrom(u, got, sizeof got, 0, (struct sockaddr *)&from, &fl), 4);
	CHECK_EQ(strcmp(got, "raw"), 0);
	CHECK_EQ(ntohs(from.sin_port), 1111);
	char b;
	CHECK_ERR(recv(r, &b, 1, MSG_DONTWAIT), EAGAIN);
	return 0;
}
