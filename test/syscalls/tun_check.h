// tun_check.h: helpers shared by the /dev/net/tun tests: making an
// interface, bringing it up with an IPv4 address, and IPv4 UDP packets
// built by hand and sent or received through it.
#ifndef COCOON_TEST_TUN_CHECK_H
#define COCOON_TEST_TUN_CHECK_H

#include "check.h"
#include "netlink_check.h"
#include <arpa/inet.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

// VNET_HDR_LEN is sizeof(struct virtio_net_hdr).
#define VNET_HDR_LEN 10

static inline int tun_open(void) {
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	CHECK(fd >= 0);
	return fd;
}

// tun_set makes (or attaches to) an interface; returns 0 or -errno and
// leaves the name the kernel chose in name.
static inline int tun_set(int fd, char *name, short flags) {
	struct ifreq ifr = {0};
	strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
	ifr.ifr_flags = flags;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0)
		return -errno;
	strcpy(name, ifr.ifr_name);
	return 0;
}

// link_set brings the interface up or down, as `ip link set NAME up`
// (down) does, and returns its index.
static inline int link_set(const char *name, int up) {
	int idx = if_nametoindex(name);
	CHECK(idx > 0);
	int fd = nl_open();
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_index = idx, .ifi_flags = up ? IFF_UP : 0, .ifi_change = IFF_UP};
	nl_send(fd, RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, 1, &ifi, sizeof ifi);
	CHECK_EQ(nl_collect(fd, 1, NULL, NULL), 0);
	close(fd);
	return idx;
}

// link_up brings the interface up and gives it addr/24, as
// `ip link set NAME up; ip addr add ADDR/24 dev NAME` do.
static inline void link_up(const char *name, const char *addr) {
	int idx = link_set(name, 1);
	int fd = nl_open();
	struct {
		struct ifaddrmsg ifa;
		struct rtattr rta;
		struct in_addr a;
	} req = {
	    .ifa = {.ifa_family = AF_INET, .ifa_prefixlen = 24, .ifa_index = idx},
	    .rta = {.rta_len = RTA_LENGTH(sizeof(struct in_addr)), .rta_type = IFA_LOCAL},
	};
	inet_pton(AF_INET, addr, &req.a);
	nl_send(fd, RTM_NEWADDR, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, 2, &req, sizeof req);
	CHECK_EQ(nl_collect(fd, 2, NULL, NULL), 0);
	close(fd);
}

// send_udp sends payload from a new socket to dst:port.
static inline void send_udp(const char *dst, int port, const char *payload) {
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	inet_pton(AF_INET, dst, &sa.sin_addr);
	CHECK_EQ(sendto(s, payload, strlen(payload), 0, (struct sockaddr *)&sa, sizeof sa), (ssize_t)strlen(payload));
	close(s);
}

// read_udp reads packets from the tun file until an IPv4 UDP one (the
// kernel may send IPv6 router solicitations and MLD reports first) and
// checks it carries payload to dst:port; skip is the header length before
// the IP packet.
static inline void read_udp(int fd, size_t skip, const char *dst, int port, const char *payload, unsigned char *head) {
	unsigned char buf[2048];
	for (int tries = 0; tries < 20; tries++) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		CHECK_EQ(poll(&p, 1, 5000), 1);
		CHECK(p.revents & POLLIN);
		ssize_t n = read(fd, buf, sizeof buf);
		CHECK((size_t)n > skip);
		struct iphdr *ip = (void *)(buf + skip);
		if (ip->version != 4 || ip->protocol != IPPROTO_UDP)
			continue;
		struct udphdr *udp = (void *)((char *)ip + ip->ihl * 4);
		struct in_addr want;
		inet_pton(AF_INET, dst, &want);
		CHECK_EQ(ip->daddr, want.s_addr);
		CHECK_EQ(ntohs(udp->dest), port);
		CHECK_EQ(ntohs(ip->tot_len), (size_t)n - skip);
		CHECK_EQ((size_t)n - skip, ip->ihl * 4 + sizeof(struct udphdr) + strlen(payload));
		CHECK_MEM((char *)(udp + 1), payload, strlen(payload));
		memcpy(head, buf, skip);
		return;
	}
	FAIL("no IPv4 UDP packet came out of the interface");
}

static inline uint16_t csum(const void *p, size_t n) {
	const uint16_t *w = p;
	uint32_t s = 0;
	for (; n > 1; n -= 2)
		s += *w++;
	if (n)
		s += *(const uint8_t *)w;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return ~s;
}

// udp_packet builds an IPv4 UDP packet src:sport -> dst:dport (no UDP
// checksum, which IPv4 allows) into buf and returns its length.
static inline size_t udp_packet(unsigned char *buf, const char *src, int sport, const char *dst, int dport, const char *payload) {
	size_t len = sizeof(struct iphdr) + sizeof(struct udphdr) + strlen(payload);
	struct iphdr *ip = (void *)buf;
	memset(buf, 0, len);
	ip->version = 4;
	ip->ihl = 5;
	ip->tot_len = htons(len);
	ip->ttl = 64;
	ip->protocol = IPPROTO_UDP;
	inet_pton(AF_INET, src, &ip->saddr);
	inet_pton(AF_INET, dst, &ip->daddr);
	ip->check = csum(ip, sizeof *ip);
	struct udphdr *udp = (void *)(ip + 1);
	udp->source = htons(sport);
	udp->dest = htons(dport);
	udp->len = htons(sizeof *udp + strlen(payload));
	memcpy(udp + 1, payload, strlen(payload));
	return len;
}

// udp_listener returns a UDP socket bound to addr:port.
static inline int udp_listener(const char *addr, int port) {
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	inet_pton(AF_INET, addr, &sa.sin_addr);
	CHECK_OK(bind(s, (struct sockaddr *)&sa, sizeof sa));
	return s;
}

// recv_from checks that s receives payload from src:sport.
static inline void recv_from(int s, const char *src, int sport, const char *payload) {
	struct pollfd p = {.fd = s, .events = POLLIN};
	CHECK_EQ(poll(&p, 1, 5000), 1);
	char buf[256];
	struct sockaddr_in from;
	socklen_t fl = sizeof from;
	ssize_t n = recvfrom(s, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
	CHECK_EQ(n, (ssize_t)strlen(payload));
	CHECK_MEM(buf, payload, n);
	struct in_addr want;
	inet_pton(AF_INET, src, &want);
	CHECK_EQ(from.sin_addr.s_addr, want.s_addr);
	CHECK_EQ(ntohs(from.sin_port), sport);
}

#endif
