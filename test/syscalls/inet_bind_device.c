// inet_bind_device: the options that tie a socket to an interface or ask
// about its route. SO_BINDTODEVICE (a name; empty unbinds) and
// SO_BINDTOIFINDEX round-trip, refuse unknown names and, once bound,
// moving without CAP_NET_RAW; a bound socket gets only what arrives on its
// interface, so two sockets on different interfaces share a port, and
// sends out of it. SO_NO_CHECK sends IPv4 UDP without a checksum.
// IP_MTU and IPV6_MTU report the connected route's interface MTU (IPv4's
// capped at 65535), ENOTCONN without a peer. IPV6_MULTICAST_IF takes an
// existing interface, the bound one if the socket has one, and is not a
// TCP option.
//
//go:build ignore

#include "inet_check.h"
#include "net_sysctl_check.h"
#include "ns_check.h"
#include "tun_check.h"

// The TUN interface the tests route to: ctunb0, 10.81.0.1/24.
#define TUN_NAME "ctunb0"
#define TUN_ADDR "10.81.0.1"
#define TUN_PEER "10.81.0.2"

static int tun_fd;

// device_of returns the length SO_BINDTODEVICE reports and its name in
// name.
static socklen_t device_of(int s, char name[IFNAMSIZ]) {
	socklen_t l = IFNAMSIZ;
	memset(name, 0, IFNAMSIZ);
	CHECK_OK(getsockopt(s, SOL_SOCKET, SO_BINDTODEVICE, name, &l));
	return l;
}

static void options(void) {
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	char name[IFNAMSIZ];
	CHECK_EQ(device_of(s, name), 0);
	// Unbound, even a short buffer says "no device".
	socklen_t l = 4;
	CHECK_OK(getsockopt(s, SOL_SOCKET, SO_BINDTODEVICE, name, &l));
	CHECK_EQ(l, 0);
	CHECK_EQ(getint(s, SOL_SOCKET, SO_BINDTOIFINDEX), 0);

	// The name needs no NUL of its own.
	CHECK_OK(setsockopt(s, SOL_SOCKET, SO_BINDTODEVICE, "lo", 2));
	CHECK_EQ(device_of(s, name), 3);
	CHECK_MEM(name, "lo", 3);
	CHECK_EQ(getint(s, SOL_SOCKET, SO_BINDTOIFINDEX), 1);
	l = 3;
	CHECK_ERR(getsockopt(s, SOL_SOCKET, SO_BINDTODEVICE, name, &l), EINVAL);
	CHECK_ERR(setsockopt(s, SOL_SOCKET, SO_BINDTODEVICE, "nosuch0", 8), ENODEV);
	CHECK_EQ(getint(s, SOL_SOCKET, SO_BINDTOIFINDEX), 1);
	CHECK_OK(setsockopt(s, SOL_SOCKET, SO_BINDTODEVICE, "", 0));
	CHECK_EQ(device_of(s, name), 0);

	int idx = if_nametoindex(TUN_NAME);
	CHECK(idx > 1);
	setint(s, SOL_SOCKET, SO_BINDTOIFINDEX, idx);
	CHECK_EQ(device_of(s, name), strlen(TUN_NAME) + 1);
	CHECK_MEM(name, TUN_NAME, strlen(TUN_NAME) + 1);
	int v = -1;
	CHECK_ERR(setsockopt(s, SOL_SOCKET, SO_BINDTOIFINDEX, &v, sizeof v), EINVAL);
	CHECK_ERR(setsockopt(s, SOL_SOCKET, SO_BINDTOIFINDEX, &v, 2), EINVAL);
	setint(s, SOL_SOCKET, SO_BINDTOIFINDEX, 0);
	CHECK_EQ(device_of(s, name), 0);
	close(s);
}

// Without CAP_NET_RAW a socket may be bound to a device once, and not
// moved or unbound after.
static void no_net_raw(void) {
	set_cap(CAP_NET_RAW, 0);
	int s = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK_OK(setsockopt(s, SOL_SOCKET, SO_BINDTODEVICE, "lo", 3));
	CHECK_ERR(setsockopt(s, SOL_SOCKET, SO_BINDTODEVICE, "", 0), EPERM);
	int zero = 0;
	CHECK_ERR(setsockopt(s, SOL_SOCKET, SO_BINDTOIFINDEX, &zero, sizeof zero), EPERM);
	char name[IFNAMSIZ];
	CHECK_EQ(device_of(s, name), 3);
	close(s);
}

// bound_udp returns a UDP socket bound to device and then to
// INADDR_ANY:port.
static int bound_udp(const char *device, int port) {
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	CHECK_OK(setsockopt(s, SOL_SOCKET, SO_BINDTODEVICE, device, strlen(device) + 1));
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	CHECK_OK(bind(s, (struct sockaddr *)&sa, sizeof sa));
	return s;
}

// recv_text checks that s has a datagram carrying want.
static void recv_text(int s, const char *want) {
	CHECK(poll1(s, POLLIN, 5000) & POLLIN);
	char buf[64];
	ssize_t n = recv(s, buf, sizeof buf, 0);
	CHECK_EQ(n, (ssize_t)strlen(want));
	CHECK_MEM(buf, want, n);
}

// Two sockets bound to different devices share a port, and each gets
// only the datagrams that arrive on its own.
static void receive(void) {
	int port = free_port(AF_INET, SOCK_DGRAM);
	int on_tun = bound_udp(TUN_NAME, port), on_lo = bound_udp("lo", port);
	// Unbound, the port is taken.
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	CHECK_ERR(bind(s, (struct sockaddr *)&sa, sizeof sa), EADDRINUSE);
	close(s);

	send_udp("127.0.0.1", port, "via lo");
	recv_text(on_lo, "via lo");
	unsigned char pkt[128];
	size_t n = udp_packet(pkt, TUN_PEER, 4000, TUN_ADDR, port, "via tun");
	CHECK_EQ(write(tun_fd, pkt, n), (ssize_t)n);
	recv_text(on_tun, "via tun");
	// Neither datagram went to the other socket.
	char b;
	CHECK_ERR(recv(on_lo, &b, 1, 0), EAGAIN);
	CHECK_ERR(recv(on_tun, &b, 1, 0), EAGAIN);
	close(on_tun);
	close(on_lo);
}

// read_udp_checksum reads the next IPv4 UDP packet from the TUN file
// and returns its UDP checksum field.
static uint16_t read_udp_checksum(void) {
	unsigned char buf[2048];
	for (int tries = 0; tries < 20; tries++) {
		CHECK(poll1(tun_fd, POLLIN, 5000) & POLLIN);
		ssize_t n = read(tun_fd, buf, sizeof buf);
		CHECK(n > (ssize_t)sizeof(struct iphdr));
		struct iphdr *ip = (void *)buf;
		if (ip->version != 4 || ip->protocol != IPPROTO_UDP)
			continue;
		struct udphdr *udp = (void *)(buf + ip->ihl * 4);
		return udp->check;
	}
	FAIL("no IPv4 UDP packet came out of the interface");
}

// A socket bound to the TUN interface sends out of it; SO_NO_CHECK sends
// without a UDP checksum.
static void send_out(void) {
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	CHECK_OK(setsockopt(s, SOL_SOCKET, SO_BINDTODEVICE, TUN_NAME, sizeof TUN_NAME));
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(4001)};
	inet_pton(AF_INET, TUN_PEER, &to.sin_addr);
	CHECK_EQ(getint(s, SOL_SOCKET, SO_NO_CHECK), 0);
	CHECK_EQ(sendto(s, "sum", 3, 0, (struct sockaddr *)&to, sizeof to), 3);
	CHECK(read_udp_checksum() != 0);
	setint(s, SOL_SOCKET, SO_NO_CHECK, 5);
	CHECK_EQ(getint(s, SOL_SOCKET, SO_NO_CHECK), 1);
	CHECK_EQ(sendto(s, "none", 4, 0, (struct sockaddr *)&to, sizeof to), 4);
	CHECK_EQ(read_udp_checksum(), 0);
	close(s);
}

// mtu_of returns IP_MTU (IPV6_MTU) of s, or -errno.
static int mtu_of(int s, int v6) {
	int v;
	socklen_t l = sizeof v;
	if (getsockopt(s, v6 ? SOL_IPV6 : SOL_IP, v6 ? IPV6_MTU : IP_MTU, &v, &l) < 0)
		return -errno;
	CHECK_EQ(l, sizeof v);
	return v;
}

// connected_udp returns a UDP socket connected to addr.
static int connected_udp(const char *addr) {
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(9)};
	inet_pton(AF_INET, addr, &sa.sin_addr);
	CHECK_OK(connect(s, (struct sockaddr *)&sa, sizeof sa));
	return s;
}

static void mtu(void) {
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	CHECK_EQ(mtu_of(s, 0), -ENOTCONN);
	close(s);
	s = connected_udp("127.0.0.1");
	CHECK_EQ(mtu_of(s, 0), 65535);
	close(s);
	s = connected_udp(TUN_PEER);
	CHECK_EQ(mtu_of(s, 0), 1500);
	close(s);
	// A new route learns the interface's new MTU.
	int c = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr = {.ifr_mtu = 1400};
	strcpy(ifr.ifr_name, TUN_NAME);
	CHECK_OK(ioctl(c, SIOCSIFMTU, &ifr));
	close(c);
	s = connected_udp(TUN_PEER);
	CHECK_EQ(mtu_of(s, 0), 1400);
	close(s);

	s = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	CHECK_EQ(mtu_of(s, 1), -ENOTCONN);
	CHECK_OK(connect_to(s, AF_INET6, 9));
	CHECK_EQ(mtu_of(s, 1), 65536);
	// A short buffer takes the low bytes.
	unsigned short half;
	socklen_t l = sizeof half;
	CHECK_OK(getsockopt(s, SOL_IPV6, IPV6_MTU, &half, &l));
	CHECK_EQ(l, sizeof half);
	CHECK_EQ(half, 0);
	close(s);

	int ls = listener(AF_INET, 1);
	CHECK_EQ(mtu_of(ls, 0), -ENOTCONN);
	close(ls);
	int a, b;
	tcp_pair(AF_INET, &a, &b);
	CHECK_EQ(mtu_of(a, 0), 65535);
	CHECK_EQ(mtu_of(b, 0), 65535);
	close(a);
	close(b);
}

static void multicast_if6(void) {
	int u = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	CHECK_EQ(getint(u, SOL_IPV6, IPV6_MULTICAST_IF), 0);
	setint(u, SOL_IPV6, IPV6_MULTICAST_IF, 1);
	CHECK_EQ(getint(u, SOL_IPV6, IPV6_MULTICAST_IF), 1);
	int v = 99999;
	CHECK_ERR(setsockopt(u, SOL_IPV6, IPV6_MULTICAST_IF, &v, sizeof v), ENODEV);
	CHECK_ERR(setsockopt(u, SOL_IPV6, IPV6_MULTICAST_IF, &v, 2), EINVAL);
	CHECK_EQ(getint(u, SOL_IPV6, IPV6_MULTICAST_IF), 1);
	setint(u, SOL_IPV6, IPV6_MULTICAST_IF, 0);
	CHECK_EQ(getint(u, SOL_IPV6, IPV6_MULTICAST_IF), 0);
	// A socket bound to a device sends multicast only through it.
	CHECK_OK(setsockopt(u, SOL_SOCKET, SO_BINDTODEVICE, "lo", 3));
	v = if_nametoindex(TUN_NAME);
	CHECK_ERR(setsockopt(u, SOL_IPV6, IPV6_MULTICAST_IF, &v, sizeof v), EINVAL);
	setint(u, SOL_IPV6, IPV6_MULTICAST_IF, 1);
	close(u);

	int t = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK_EQ(getint(t, SOL_IPV6, IPV6_MULTICAST_IF), 0);
	v = 1;
	CHECK_ERR(setsockopt(t, SOL_IPV6, IPV6_MULTICAST_IF, &v, sizeof v), ENOPROTOOPT);
	CHECK_ERR(setsockopt(t, SOL_IPV6, IPV6_MULTICAST_HOPS, &v, sizeof v), ENOPROTOOPT);
	close(t);
}

int main(void) {
	enter_netns();
	lo_up();
	tun_fd = tun_open();
	char name[IFNAMSIZ] = TUN_NAME;
	CHECK_EQ(tun_set(tun_fd, name, IFF_TUN | IFF_NO_PI), 0);
	link_up(TUN_NAME, TUN_ADDR);
	options();
	run_in_child(no_net_raw, 10);
	receive();
	send_out();
	mtu();
	multicast_if6();
	return 0;
}
