// tun_offload: what user-space WireGuard (wireguard-go, under Tailscale
// and Netbird) asks of a TUN device. TUNSETOFFLOAD takes the checksum,
// TSO and USO offloads as Linux's set_offload does; a packet written with
// a virtio-net header may be a GSO one, a TCP segment or a UDP datagram
// that stands for several, and the sockets behind the interface receive
// all its data (a UDP socket as one datagram per gso_size); a bad GSO
// header (an unknown type, a gso_size of 0) is EINVAL. With both the
// packet information and the virtio-net headers, packet information
// comes first, and a packet cut to fit the read says so (TUN_PKT_STRIP).
//
//go:build ignore

#include "tun_check.h"
#include "net_sysctl_check.h"
#include <linux/virtio_net.h>
#include <netinet/tcp.h>
#include <stddef.h>

#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20
#define TUN_F_USO6 0x40
#endif
#ifndef VIRTIO_NET_HDR_GSO_UDP_L4
#define VIRTIO_NET_HDR_GSO_UDP_L4 5
#endif

// The fields of struct virtio_net_hdr (little endian here).
struct vnet_hdr {
	uint8_t flags, gso_type;
	uint16_t hdr_len, gso_size, csum_start, csum_offset;
};

static int vnet_tun(const char *base, const char *addr) {
	int fd = tun_open();
	char name[IFNAMSIZ];
	strcpy(name, base);
	CHECK_EQ(tun_set(fd, name, IFF_TUN | IFF_NO_PI | IFF_VNET_HDR), 0);
	link_up(name, addr);
	return fd;
}

// What Linux 6.18's set_offload answers.
static void offloads(void) {
	int fd = vnet_tun("ctuno", "10.76.0.1");
	unsigned ok[] = {0, TUN_F_CSUM, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO_ECN,
			 TUN_F_CSUM | TUN_F_UFO, TUN_F_CSUM | TUN_F_USO4 | TUN_F_USO6,
			 TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_USO4 | TUN_F_USO6};
	for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
		CHECK_OK(ioctl(fd, TUNSETOFFLOAD, ok[i]));
	// TSO and USO need the checksum offload; ECN needs TSO; USO is
	// both families or neither; unknown flags are how programs probe.
	unsigned bad[] = {TUN_F_TSO4, TUN_F_UFO, TUN_F_USO4 | TUN_F_USO6, TUN_F_CSUM | TUN_F_TSO_ECN,
			  TUN_F_CSUM | TUN_F_USO4, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_USO6, 0x80, TUN_F_CSUM | 0x100};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		CHECK_ERR(ioctl(fd, TUNSETOFFLOAD, bad[i]), EINVAL);
	close(fd);
}

// pseudo_sum is the folded sum of an IPv4 pseudo-header: what a GSO
// writer leaves in the transport checksum field with NEEDS_CSUM.
static uint16_t pseudo_sum(const struct iphdr *ip, int proto, size_t len) {
	const uint8_t *a = (const uint8_t *)&ip->saddr;
	uint32_t s = proto + len;
	for (int i = 0; i < 8; i += 2)
		s += (a[i] << 8) | a[i + 1];
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return htons(s);
}

// One UDP write with gso_size 500 and 1,300 bytes of data is three
// datagrams to the socket: 500, 500 and 300 bytes.
static void gso_udp(void) {
	int fd = vnet_tun("ctunu", "10.75.0.1");
	CHECK_OK(ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_USO4 | TUN_F_USO6));
	int r = udp_listener("10.75.0.1", 5353);
	static unsigned char buf[VNET_HDR_LEN + 1400];
	char data[1301];
	for (int i = 0; i < 1300; i++)
		data[i] = 'a' + i % 26;
	data[1300] = 0;
	size_t len = udp_packet(buf + VNET_HDR_LEN, "10.75.0.2", 4343, "10.75.0.1", 5353, data);
	struct iphdr *ip = (void *)(buf + VNET_HDR_LEN);
	struct udphdr *udp = (void *)(ip + 1);
	udp->check = pseudo_sum(ip, IPPROTO_UDP, ntohs(udp->len));
	struct vnet_hdr h = {.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .gso_type = VIRTIO_NET_HDR_GSO_UDP_L4,
			     .hdr_len = sizeof *ip + sizeof *udp, .gso_size = 500,
			     .csum_start = sizeof *ip, .csum_offset = offsetof(struct udphdr, check)};
	memcpy(buf, &h, sizeof h);
	CHECK_EQ(write(fd, buf, VNET_HDR_LEN + len), (ssize_t)(VNET_HDR_LEN + len));
	for (int i = 0; i < 3; i++) {
		struct pollfd p = {.fd = r, .events = POLLIN};
		CHECK_EQ(poll(&p, 1, 5000), 1);
		char got[1500];
		ssize_t n = recv(r, got, sizeof got, 0);
		CHECK_EQ(n, i < 2 ? 500 : 300);
		CHECK_MEM(got, data + 500 * i, n);
	}
	// A GSO type Linux does not know, and a gso_size of 0.
	h.gso_type = 2;
	memcpy(buf, &h, sizeof h);
	CHECK_ERR(write(fd, buf, VNET_HDR_LEN + len), EINVAL);
	h.gso_type = VIRTIO_NET_HDR_GSO_UDP_L4;
	h.gso_size = 0;
	memcpy(buf, &h, sizeof h);
	CHECK_ERR(write(fd, buf, VNET_HDR_LEN + len), EINVAL);
	close(r);
	close(fd);
}

// tcp_packet builds, after a virtio-net header h, an IPv4 TCP segment
// 10.74.0.2:4000 -> 10.74.0.1:port with an MSS option and n bytes of
// data, its checksum complete unless h asks for it; returns the length
// written from buf.
static size_t tcp_packet(unsigned char *buf, struct vnet_hdr h, int port, uint32_t seq, uint32_t ack, int flags,
			 const char *data, size_t n) {
	struct iphdr *ip = (void *)(buf + VNET_HDR_LEN);
	struct tcphdr *tcp = (void *)(ip + 1);
	unsigned char *opt = (unsigned char *)(tcp + 1);
	size_t tcplen = sizeof *tcp + 4 + n;
	memset(ip, 0, sizeof *ip + tcplen);
	ip->version = 4;
	ip->ihl = 5;
	ip->tot_len = htons(sizeof *ip + tcplen);
	ip->frag_off = htons(IP_DF);
	ip->ttl = 64;
	ip->protocol = IPPROTO_TCP;
	inet_pton(AF_INET, "10.74.0.2", &ip->saddr);
	inet_pton(AF_INET, "10.74.0.1", &ip->daddr);
	ip->check = csum(ip, sizeof *ip);
	tcp->source = htons(4000);
	tcp->dest = htons(port);
	tcp->seq = htonl(seq);
	tcp->ack_seq = htonl(ack);
	tcp->doff = (sizeof *tcp + 4) / 4;
	((unsigned char *)tcp)[13] = flags;
	tcp->window = htons(65535);
	opt[0] = TCPOPT_MAXSEG;
	opt[1] = 4;
	opt[2] = 1460 >> 8;
	opt[3] = 1460 & 0xff;
	memcpy(opt + 4, data, n);
	tcp->check = pseudo_sum(ip, IPPROTO_TCP, tcplen);
	if (!(h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
		tcp->check = csum(tcp, tcplen); // the field's pseudo-header sum is summed in
	memcpy(buf, &h, sizeof h);
	return VNET_HDR_LEN + sizeof *ip + tcplen;
}

// read_tcp reads packets from the TUN until an IPv4 TCP segment with
// all of flags set, and returns its header.
static struct tcphdr read_tcp(int fd, int flags) {
	unsigned char buf[2048];
	for (int tries = 0; tries < 20; tries++) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		CHECK_EQ(poll(&p, 1, 5000), 1);
		ssize_t n = read(fd, buf, sizeof buf);
		CHECK(n > VNET_HDR_LEN);
		struct iphdr *ip = (void *)(buf + VNET_HDR_LEN);
		if (ip->version != 4 || ip->protocol != IPPROTO_TCP)
			continue;
		struct tcphdr th;
		memcpy(&th, (char *)ip + ip->ihl * 4, sizeof th);
		if ((((unsigned char *)&th)[13] & flags) == flags)
			return th;
	}
	FAIL("no TCP segment with flags %#x came out of the interface", flags);
}

// The test plays the peer of a TCP connection through the TUN: a
// handshake by hand, then one GSO write of three 1,000-byte segments,
// which the accepted socket reads in order.
static void gso_tcp(void) {
	int fd = vnet_tun("ctunt", "10.74.0.1");
	CHECK_OK(ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6));
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(8080)};
	inet_pton(AF_INET, "10.74.0.1", &sa.sin_addr);
	CHECK_OK(bind(l, (struct sockaddr *)&sa, sizeof sa));
	CHECK_OK(listen(l, 1));
	static unsigned char buf[VNET_HDR_LEN + 4000];
	struct vnet_hdr none = {0};
	uint32_t iss = 1000;
	size_t len = tcp_packet(buf, none, 8080, iss, 0, TH_SYN, NULL, 0);
	CHECK_EQ(write(fd, buf, len), (ssize_t)len);
	struct tcphdr synack = read_tcp(fd, TH_SYN | TH_ACK);
	CHECK_EQ(ntohl(synack.ack_seq), iss + 1);
	uint32_t ack = ntohl(synack.seq) + 1;
	len = tcp_packet(buf, none, 8080, iss + 1, ack, TH_ACK, NULL, 0);
	CHECK_EQ(write(fd, buf, len), (ssize_t)len);
	int c = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	CHECK(c >= 0);

	static char data[3000];
	for (size_t i = 0; i < sizeof data; i++)
		data[i] = 'A' + i % 23;
	struct vnet_hdr h = {.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
			     .hdr_len = sizeof(struct iphdr) + sizeof(struct tcphdr) + 4, .gso_size = 1000,
			     .csum_start = sizeof(struct iphdr), .csum_offset = offsetof(struct tcphdr, check)};
	len = tcp_packet(buf, h, 8080, iss + 1, ack, TH_ACK | TH_PUSH, data, sizeof data);
	CHECK_EQ(write(fd, buf, len), (ssize_t)len);
	char got[sizeof data];
	size_t have = 0;
	while (have < sizeof got) {
		struct pollfd p = {.fd = c, .events = POLLIN};
		CHECK_EQ(poll(&p, 1, 5000), 1);
		ssize_t n = recv(c, got + have, sizeof got - have, 0);
		CHECK(n > 0);
		have += n;
	}
	CHECK_MEM(got, data, sizeof data);
	close(c);
	close(l);
	close(fd);
}

// With packet information and the virtio-net header: packet information
// first both ways; a read too short for the packet sets TUN_PKT_STRIP.
static void pi_then_vnet(void) {
	int fd = tun_open();
	char name[IFNAMSIZ] = "ctunpv";
	CHECK_EQ(tun_set(fd, name, IFF_TUN | IFF_VNET_HDR), 0);
	link_up(name, "10.73.0.1");
	unsigned char head[4 + VNET_HDR_LEN], zero[VNET_HDR_LEN] = {0};
	send_udp("10.73.0.2", 4242, "ping");
	read_udp(fd, sizeof head, "10.73.0.2", 4242, "ping", head);
	CHECK_EQ(head[0] | head[1], 0);
	CHECK_EQ((head[2] << 8) | head[3], ETH_P_IP);
	CHECK_MEM(head + 4, zero, VNET_HDR_LEN);

	send_udp("10.73.0.2", 4242, "ping");
	unsigned char cut[4 + VNET_HDR_LEN + 20];
	ssize_t n = 0;
	for (int tries = 0; tries < 20; tries++) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		CHECK_EQ(poll(&p, 1, 5000), 1);
		n = read(fd, cut, sizeof cut);
		if ((cut[2] << 8 | cut[3]) == ETH_P_IP)
			break;
	}
	CHECK_EQ(n, (ssize_t)sizeof cut);
	CHECK_EQ(*(uint16_t *)cut & TUN_PKT_STRIP, TUN_PKT_STRIP);

	int r = udp_listener("10.73.0.1", 5353);
	unsigned char pkt[256] = {0, 0, ETH_P_IP >> 8, ETH_P_IP & 0xff};
	size_t len = 4 + VNET_HDR_LEN + udp_packet(pkt + 4 + VNET_HDR_LEN, "10.73.0.2", 4343, "10.73.0.1", 5353, "pong");
	CHECK_EQ(write(fd, pkt, len), (ssize_t)len);
	recv_from(r, "10.73.0.2", 4343, "pong");
	close(r);
	close(fd);
}

int main(void) {
	enter_netns();
	offloads();
	gso_udp();
	gso_tcp();
	pi_then_vnet();
	return 0;
}
