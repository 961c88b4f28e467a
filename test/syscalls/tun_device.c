// tun_device: /dev/net/tun. TUNSETIFF makes a TUN interface (named from a
// %d pattern, down at first); what the stack routes to it is read from the
// file, with or without the packet information and virtio-net headers,
// and what is written enters the stack as received on it; the interface
// goes with its last file unless TUNSETPERSIST keeps it (without a
// carrier while no file holds it), and rtnetlink's link listeners hear of
// both and describe it (kind "tun"); the errors of a file not yet attached, of
// bad flags and bad packets, and without CAP_NET_ADMIN; a TAP interface
// both ways, ARP included; a writer polling a down interface wakes when it
// comes up; an interface that comes up gets its IPv6 link-local address
// (EUI-64 on a TAP, a random one kept for its life on a TUN), and one that
// goes down loses its IPv6 addresses; TUNSETOWNER and TUNSETGROUP let a
// user without CAP_NET_ADMIN attach to a persistent device.
//
//go:build ignore

#include "tun_check.h"
#include "net_sysctl_check.h"
#include "ns_check.h"
#include <ifaddrs.h>
#include <linux/if_arp.h>
#include <pthread.h>
#include <stddef.h>
#include <grp.h>
#include <sys/uio.h>

static short if_flags(const char *name) {
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr = {0};
	strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
	CHECK_OK(ioctl(s, SIOCGIFFLAGS, &ifr));
	close(s);
	return ifr.ifr_flags;
}

static int hw_type(const char *name) {
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr = {0};
	strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
	CHECK_OK(ioctl(s, SIOCGIFHWADDR, &ifr));
	close(s);
	return ifr.ifr_hwaddr.sa_family;
}

// A file before TUNSETIFF, and the flags TUNSETIFF refuses or resolves.
static void unattached(void) {
	int fd = tun_open();
	char buf[64];
	CHECK_ERR(read(fd, buf, sizeof buf), EBADFD);
	CHECK_ERR(write(fd, buf, sizeof buf), EBADFD);
	struct ifreq ifr = {0};
	CHECK_ERR(ioctl(fd, TUNGETIFF, &ifr), EBADFD);
	int one = 1;
	CHECK_ERR(ioctl(fd, TUNSETPERSIST, one), EBADFD);
	struct pollfd p = {.fd = fd, .events = POLLIN | POLLOUT};
	CHECK_EQ(poll(&p, 1, 0), 1);
	CHECK_EQ(p.revents, POLLERR);
	unsigned features = 0;
	CHECK_OK(ioctl(fd, TUNGETFEATURES, &features));
	unsigned want = IFF_TUN | IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	CHECK_EQ(features & want, want);
	char name[IFNAMSIZ] = "ctunx";
	CHECK_EQ(tun_set(fd, name, IFF_NO_PI), -EINVAL);
	strcpy(name, "bad/name");
	CHECK_EQ(tun_set(fd, name, IFF_TUN), -EINVAL);
	CHECK_EQ(if_nametoindex("ctunx"), 0);
	// IFF_TUN wins over IFF_TAP (tun_set_iff looks at it first).
	strcpy(name, "ctunx");
	CHECK_EQ(tun_set(fd, name, IFF_TUN | IFF_TAP | IFF_NO_PI), 0);
	CHECK_OK(ioctl(fd, TUNGETIFF, &ifr));
	CHECK_EQ(ifr.ifr_flags, IFF_TUN | IFF_NO_PI);
	CHECK_EQ(hw_type("ctunx"), ARPHRD_NONE);
	close(fd);
	CHECK_EQ(if_nametoindex("ctunx"), 0);
}

// A TUN without packet information: both ways, bad packets, closing.
static void tun_no_pi(void) {
	int fd = tun_open();
	char name[IFNAMSIZ] = "ctun%d";
	CHECK_EQ(tun_set(fd, name, IFF_TUN | IFF_NO_PI), 0);
	CHECK(strcmp(name, "ctun0") == 0);
	char again[IFNAMSIZ] = "ctun%d";
	CHECK_EQ(tun_set(fd, again, IFF_TUN | IFF_NO_PI), -EEXIST);
	struct ifreq ifr = {0};
	CHECK_OK(ioctl(fd, TUNGETIFF, &ifr));
	CHECK(strcmp(ifr.ifr_name, "ctun0") == 0);
	CHECK_EQ(ifr.ifr_flags, IFF_TUN | IFF_NO_PI);
	short fl = if_flags(name);
	CHECK_EQ(fl & (IFF_UP | IFF_POINTOPOINT | IFF_NOARP | IFF_MULTICAST | IFF_BROADCAST), IFF_POINTOPOINT | IFF_NOARP | IFF_MULTICAST);
	CHECK_EQ(hw_type(name), ARPHRD_NONE);
	// Down: nothing to read, and a write fails.
	struct pollfd p = {.fd = fd, .events = POLLIN | POLLOUT};
	CHECK_EQ(poll(&p, 1, 0), 0);
	unsigned char pkt[256];
	size_t len = udp_packet(pkt, "10.77.0.2", 4343, "10.77.0.1", 5353, "pong");
	CHECK_ERR(write(fd, pkt, len), EIO);

	link_up(name, "10.77.0.1");
	CHECK(if_flags(name) & IFF_UP);
	CHECK_EQ(poll(&p, 1, 0), 1);
	CHECK(p.revents & POLLOUT);
	unsigned char none[1];
	send_udp("10.77.0.2", 4242, "ping");
	read_udp(fd, 0, "10.77.0.2", 4242, "ping", none);

	int r = udp_listener("10.77.0.1", 5353);
	CHECK_EQ(write(fd, pkt, len), (ssize_t)len);
	recv_from(r, "10.77.0.2", 4343, "pong");
	close(r);

	// Not an IP packet.
	unsigned char junk[20] = {0};
	CHECK_ERR(write(fd, junk, sizeof junk), EINVAL);
	CHECK_ERR(write(fd, junk, 0), EINVAL);

	close(fd);
	CHECK_EQ(if_nametoindex("ctun0"), 0);
}

// A TUN with packet information: struct tun_pi before every packet.
static void tun_pi(void) {
	int fd = tun_open();
	char name[IFNAMSIZ] = "ctunpi";
	CHECK_EQ(tun_set(fd, name, IFF_TUN), 0);
	link_up(name, "10.78.0.1");
	unsigned char head[4];
	send_udp("10.78.0.2", 4242, "ping");
	read_udp(fd, 4, "10.78.0.2", 4242, "ping", head);
	CHECK_EQ(head[0] | head[1], 0);                      // flags
	CHECK_EQ((head[2] << 8) | head[3], ETH_P_IP); // proto

	int r = udp_listener("10.78.0.1", 5353);
	unsigned char pkt[256] = {0, 0, ETH_P_IP >> 8, ETH_P_IP & 0xff};
	size_t len = 4 + udp_packet(pkt + 4, "10.78.0.2", 4343, "10.78.0.1", 5353, "pong");
	CHECK_EQ(write(fd, pkt, len), (ssize_t)len);
	recv_from(r, "10.78.0.2", 4343, "pong");
	// writev gathers one packet, readv scatters one.
	struct iovec wv[2] = {{pkt, 4}, {pkt + 4, len - 4}};
	CHECK_EQ(writev(fd, wv, 2), (ssize_t)len);
	recv_from(r, "10.78.0.2", 4343, "pong");
	close(r);
	int s = udp_listener("10.78.0.1", 6000);
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(4242)};
	inet_pton(AF_INET, "10.78.0.2", &to.sin_addr);
	unsigned char pi[4], ip[2048];
	struct iovec rv[2] = {{pi, sizeof pi}, {ip, sizeof ip}};
	ssize_t n = 0;
	for (int tries = 0; tries < 20; tries++) {
		CHECK_EQ(sendto(s, "ping", 4, 0, (struct sockaddr *)&to, sizeof to), 4);
		n = readv(fd, rv, 2);
		if (((struct iphdr *)ip)->version == 4)
			break;
	}
	CHECK_EQ(n, 4 + (ssize_t)(sizeof(struct iphdr) + sizeof(struct udphdr) + 4));
	CHECK_EQ((pi[2] << 8) | pi[3], ETH_P_IP);
	CHECK_EQ(((struct iphdr *)ip)->protocol, IPPROTO_UDP);
	close(s);
	CHECK_ERR(write(fd, pkt, 3), EINVAL);
	close(fd);
}

// A TUN with the virtio-net header: all zeros on a read (no offloads);
// on a write, its checksum request is met.
static void tun_vnet(void) {
	int fd = tun_open();
	char name[IFNAMSIZ] = "ctunv";
	CHECK_EQ(tun_set(fd, name, IFF_TUN | IFF_NO_PI | IFF_VNET_HDR), 0);
	int sz = 0;
	CHECK_OK(ioctl(fd, TUNGETVNETHDRSZ, &sz));
	CHECK_EQ(sz, VNET_HDR_LEN);
	sz = 4;
	CHECK_ERR(ioctl(fd, TUNSETVNETHDRSZ, &sz), EINVAL);
	CHECK_OK(ioctl(fd, TUNSETOFFLOAD, 0));
	struct ifreq ifr = {0};
	CHECK_OK(ioctl(fd, TUNGETIFF, &ifr));
	CHECK_EQ(ifr.ifr_flags, IFF_TUN | IFF_NO_PI | IFF_VNET_HDR);
	link_up(name, "10.79.0.1");
	unsigned char head[VNET_HDR_LEN], zero[VNET_HDR_LEN] = {0};
	send_udp("10.79.0.2", 4242, "ping");
	read_udp(fd, VNET_HDR_LEN, "10.79.0.2", 4242, "ping", head);
	CHECK_MEM(head, zero, VNET_HDR_LEN);
	// A read with no room for the header drops the packet.
	send_udp("10.79.0.2", 4242, "ping");
	struct pollfd p = {.fd = fd, .events = POLLIN};
	CHECK_EQ(poll(&p, 1, 5000), 1);
	char small[8];
	CHECK_ERR(read(fd, small, sizeof small), EINVAL);
	CHECK_EQ(read(fd, small, 0), 0);

	int r = udp_listener("10.79.0.1", 5353);
	unsigned char pkt[256] = {0};
	size_t len = VNET_HDR_LEN + udp_packet(pkt + VNET_HDR_LEN, "10.79.0.2", 4343, "10.79.0.1", 5353, "pong");
	CHECK_EQ(write(fd, pkt, len), (ssize_t)len);
	recv_from(r, "10.79.0.2", 4343, "pong");

	// VIRTIO_NET_HDR_F_NEEDS_CSUM: the UDP checksum field holds the
	// pseudo-header's sum; csum_start is the UDP header, csum_offset
	// its checksum field.
	unsigned char *ip = pkt + VNET_HDR_LEN;
	struct udphdr *udp = (void *)(ip + sizeof(struct iphdr));
	udp->source = htons(4444);
	uint32_t ph = 0;
	for (int i = 12; i < 20; i += 2)
		ph += (ip[i] << 8) | ip[i + 1];
	ph += IPPROTO_UDP + ntohs(udp->len);
	while (ph >> 16)
		ph = (ph & 0xffff) + (ph >> 16);
	udp->check = htons(ph);
	pkt[0] = 1;                        // flags: NEEDS_CSUM
	pkt[1] = 0;                        // gso_type: none
	pkt[6] = sizeof(struct iphdr);     // csum_start
	pkt[8] = offsetof(struct udphdr, check);
	CHECK_EQ(write(fd, pkt, len), (ssize_t)len);
	recv_from(r, "10.79.0.2", 4444, "pong");
	close(r);
	close(fd);
}

// TUNSETPERSIST keeps the interface after its last file; a new file
// attaches to it by name.
// tun_linkinfo is what rtnetlink says of a TUN or TAP device (the kind
// must be "tun").
struct tun_linkinfo {
	unsigned flags;
	int kind, type, pi, vnet_hdr, persist;
	// owner and group are -1 when the device has none.
	long owner, group;
};

static void on_tun_link(struct nlmsghdr *h, void *arg) {
	struct tun_linkinfo *li = arg;
	CHECK_EQ(h->nlmsg_type, RTM_NEWLINK);
	li->flags = ((struct ifinfomsg *)NLMSG_DATA(h))->ifi_flags;
	struct rtattr *a = rta_get(h, sizeof(struct ifinfomsg), IFLA_LINKINFO);
	CHECK(a != NULL);
	int len = RTA_PAYLOAD(a);
	for (struct rtattr *n = RTA_DATA(a); RTA_OK(n, len); n = RTA_NEXT(n, len)) {
		if ((n->rta_type & NLA_TYPE_MASK) == IFLA_INFO_KIND) {
			CHECK(strcmp(RTA_DATA(n), "tun") == 0);
			li->kind = 1;
		}
		if ((n->rta_type & NLA_TYPE_MASK) != IFLA_INFO_DATA)
			continue;
		int dl = RTA_PAYLOAD(n);
		for (struct rtattr *d = RTA_DATA(n); RTA_OK(d, dl); d = RTA_NEXT(d, dl)) {
			int v = *(unsigned char *)RTA_DATA(d);
			switch (d->rta_type) {
			case IFLA_TUN_OWNER:
				li->owner = *(uint32_t *)RTA_DATA(d);
				break;
			case IFLA_TUN_GROUP:
				li->group = *(uint32_t *)RTA_DATA(d);
				break;
			case IFLA_TUN_TYPE:
				li->type = v;
				break;
			case IFLA_TUN_PI:
				li->pi = v;
				break;
			case IFLA_TUN_VNET_HDR:
				li->vnet_hdr = v;
				break;
			case IFLA_TUN_PERSIST:
				li->persist = v;
				break;
			}
		}
	}
}

static struct tun_linkinfo tun_linkinfo(const char *name) {
	struct tun_linkinfo li = {.owner = -1, .group = -1};
	int fd = nl_open();
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_index = (int)if_nametoindex(name)};
	CHECK(ifi.ifi_index > 0);
	nl_send(fd, RTM_GETLINK, NLM_F_REQUEST | NLM_F_ACK, 7, &ifi, sizeof ifi);
	CHECK_EQ(nl_collect(fd, 7, on_tun_link, &li), 0);
	close(fd);
	CHECK_EQ(li.kind, 1);
	return li;
}

// A persistent device outlives its files, has no carrier while none holds
// it, and takes the flags of the TUNSETIFF that attaches one.
static void persist(void) {
	int fd = tun_open();
	char name[IFNAMSIZ] = "ctunp";
	CHECK_EQ(tun_set(fd, name, IFF_TUN | IFF_NO_PI), 0);
	CHECK_OK(ioctl(fd, TUNSETPERSIST, 1));
	struct ifreq ifr = {0};
	CHECK_OK(ioctl(fd, TUNGETIFF, &ifr));
	CHECK_EQ(ifr.ifr_flags, IFF_TUN | IFF_NO_PI | IFF_PERSIST);
	struct tun_linkinfo li = tun_linkinfo(name);
	CHECK(li.type == IFF_TUN && li.pi == 0 && li.vnet_hdr == 0 && li.persist == 1);
	close(fd);
	int idx = if_nametoindex("ctunp");
	CHECK(idx > 0);
	link_up(name, "10.78.0.1");
	CHECK_EQ(tun_linkinfo(name).flags & (IFF_UP | IFF_LOWER_UP), IFF_UP);
	fd = tun_open();
	CHECK_EQ(tun_set(fd, name, IFF_TUN | IFF_VNET_HDR), 0);
	CHECK_EQ((int)if_nametoindex("ctunp"), idx);
	li = tun_linkinfo(name);
	CHECK_EQ(li.flags & (IFF_UP | IFF_LOWER_UP), IFF_UP | IFF_LOWER_UP);
	CHECK(li.type == IFF_TUN && li.pi == 1 && li.vnet_hdr == 1 && li.persist == 1);
	CHECK_OK(ioctl(fd, TUNSETPERSIST, 0));
	CHECK_EQ(tun_linkinfo(name).persist, 0);
	close(fd);
	CHECK_EQ(if_nametoindex("ctunp"), 0);
}

// attach_as runs as user uid with the supplementary group group (none
// when -1), without capabilities, and checks what attaching to ctunown
// returns.
static int attach_uid, attach_group, attach_want;

static void attach_as(void) {
	// Opened first: /dev/net/tun need not be open to everyone.
	int fd = tun_open();
	gid_t g = attach_group;
	CHECK_OK(setgroups(attach_group >= 0 ? 1 : 0, &g));
	CHECK_OK(setgid(attach_uid));
	CHECK_OK(setuid(attach_uid));
	char name[IFNAMSIZ] = "ctunown";
	CHECK_EQ(tun_set(fd, name, IFF_TUN | IFF_NO_PI), attach_want);
	close(fd);
}

static void attach_check(int uid, int group, int want) {
	attach_uid = uid;
	attach_group = group;
	attach_want = want;
	run_in_child(attach_as, 10);
}

// TUNSETOWNER and TUNSETGROUP: a persistent device with an owner may be
// attached without CAP_NET_ADMIN by its owner only, and with a group too
// only by its owner in that group; rtnetlink reports both; an ID the
// caller's namespace does not map is EINVAL.
static void owner(void) {
	int fd = tun_open();
	char name[IFNAMSIZ] = "ctunown";
	CHECK_EQ(tun_set(fd, name, IFF_TUN | IFF_NO_PI), 0);
	CHECK_ERR(ioctl(fd, TUNSETOWNER, (unsigned long)(uid_t)-1), EINVAL);
	CHECK_ERR(ioctl(fd, TUNSETGROUP, (unsigned long)(gid_t)-1), EINVAL);
	struct tun_linkinfo li = tun_linkinfo(name);
	CHECK(li.owner == -1 && li.group == -1);
	CHECK_OK(ioctl(fd, TUNSETOWNER, 65534));
	CHECK_OK(ioctl(fd, TUNSETPERSIST, 1));
	li = tun_linkinfo(name);
	CHECK(li.owner == 65534 && li.group == -1);
	close(fd);
	attach_check(65534, -1, 0);
	attach_check(65533, -1, -EPERM);

	fd = tun_open();
	CHECK_EQ(tun_set(fd, name, IFF_TUN | IFF_NO_PI), 0);
	CHECK_OK(ioctl(fd, TUNSETGROUP, 65530));
	li = tun_linkinfo(name);
	CHECK(li.owner == 65534 && li.group == 65530);
	close(fd);
	attach_check(65534, 65530, 0);
	attach_check(65534, -1, -EPERM);
	attach_check(65533, 65530, -EPERM);

	fd = tun_open();
	CHECK_EQ(tun_set(fd, name, IFF_TUN | IFF_NO_PI), 0);
	CHECK_OK(ioctl(fd, TUNSETPERSIST, 0));
	close(fd);
	CHECK_EQ(if_nametoindex("ctunown"), 0);
}

// read_frame reads Ethernet frames from a TAP file until one of type
// ethertype (others, such as IPv6's, come and go) and returns its length.
static ssize_t read_frame(int fd, unsigned char *f, size_t size, int ethertype) {
	for (int tries = 0; tries < 20; tries++) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		CHECK_EQ(poll(&p, 1, 5000), 1);
		ssize_t n = read(fd, f, size);
		if (n > 14 && ((f[12] << 8) | f[13]) == ethertype)
			return n;
	}
	FAIL("no frame of type %#x came out of the interface", ethertype);
}

// A TAP interface is an Ethernet one, with ARP.
static void tap(void) {
	int fd = tun_open();
	char name[IFNAMSIZ] = "";
	CHECK_EQ(tun_set(fd, name, IFF_TAP | IFF_NO_PI), 0);
	CHECK(strcmp(name, "tap0") == 0);
	CHECK_EQ(hw_type(name), ARPHRD_ETHER);
	short fl = if_flags(name);
	CHECK_EQ(fl & (IFF_UP | IFF_BROADCAST | IFF_MULTICAST | IFF_NOARP), IFF_BROADCAST | IFF_MULTICAST);
	unsigned char junk[10] = {0};
	CHECK_ERR(write(fd, junk, sizeof junk), EINVAL);

	// Both ways: the stack asks for 10.81.0.2 by ARP from the
	// interface's MAC; a reply written to the file lets the datagram
	// waiting for it go out, to the MAC the reply gave.
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq hw = {0};
	strcpy(hw.ifr_name, name);
	CHECK_OK(ioctl(s, SIOCGIFHWADDR, &hw));
	unsigned char mac[6], peer[6] = {0x02, 0x11, 0x22, 0x33, 0x44, 0x55};
	memcpy(mac, hw.ifr_hwaddr.sa_data, 6);
	link_up(name, "10.81.0.1");
	send_udp("10.81.0.2", 4242, "ping");
	unsigned char f[2048];
	CHECK(read_frame(fd, f, sizeof f, ETH_P_ARP) >= 42);
	CHECK_MEM(f + 6, mac, 6);              // from the interface
	CHECK_EQ((f[20] << 8) | f[21], 1);     // a request
	unsigned char want_ip[4] = {10, 81, 0, 2};
	CHECK_MEM(f + 38, want_ip, 4);         // for 10.81.0.2
	unsigned char reply[42];
	memcpy(reply, mac, 6);
	memcpy(reply + 6, peer, 6);
	reply[12] = ETH_P_ARP >> 8, reply[13] = ETH_P_ARP & 0xff;
	memcpy(reply + 14, f + 14, 6);         // htype, ptype, hlen, plen
	reply[20] = 0, reply[21] = 2;          // a reply
	memcpy(reply + 22, peer, 6);
	memcpy(reply + 28, want_ip, 4);
	memcpy(reply + 32, mac, 6);
	memcpy(reply + 38, f + 28, 4);         // to the asker's address
	CHECK_EQ(write(fd, reply, sizeof reply), (ssize_t)sizeof reply);
	CHECK(read_frame(fd, f, sizeof f, ETH_P_IP) > 14);
	CHECK_MEM(f, peer, 6);
	CHECK_MEM(f + 6, mac, 6);
	struct iphdr *ip = (void *)(f + 14);
	CHECK_EQ(ip->protocol, IPPROTO_UDP);
	CHECK_MEM((char *)ip + ip->ihl * 4 + sizeof(struct udphdr), "ping", 4);
	close(s);
	close(fd);
	CHECK_EQ(if_nametoindex("tap0"), 0);
}

// wait_msg reads rtnetlink messages from listener nl until match (with
// arg) takes one.
static void wait_msg(int nl, int (*match)(struct nlmsghdr *, void *), void *arg) {
	char buf[8192];
	for (;;) {
		struct pollfd p = {.fd = nl, .events = POLLIN};
		CHECK_EQ(poll(&p, 1, 5000), 1);
		ssize_t n = recv(nl, buf, sizeof buf, 0);
		CHECK(n > 0);
		for (struct nlmsghdr *h = (void *)buf; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n))
			if (match(h, arg))
				return;
	}
}

struct link_want {
	int type, idx;
};

static int link_matches(struct nlmsghdr *h, void *arg) {
	struct link_want *w = arg;
	struct ifinfomsg *ifi = NLMSG_DATA(h);
	return h->nlmsg_type == w->type && ifi->ifi_index == w->idx;
}

// wait_link waits for an rtnetlink message of type on the RTMGRP_LINK
// listener nl about interface idx (others come and go: IPv6 state
// changes of the new interface).
static void wait_link(int nl, int type, int idx) {
	struct link_want w = {type, idx};
	wait_msg(nl, link_matches, &w);
}

// rtnetlink's link listeners hear of an interface made and removed.
static void announced(void) {
	int nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	CHECK(nl >= 0);
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK, .nl_groups = RTMGRP_LINK};
	CHECK_OK(bind(nl, (struct sockaddr *)&sa, sizeof sa));
	int fd = tun_open();
	char name[IFNAMSIZ] = "ctunn";
	CHECK_EQ(tun_set(fd, name, IFF_TUN | IFF_NO_PI), 0);
	int idx = if_nametoindex(name);
	CHECK(idx > 0);
	wait_link(nl, RTM_NEWLINK, idx);
	close(fd);
	wait_link(nl, RTM_DELLINK, idx);
	close(nl);
}

// Making an interface takes CAP_NET_ADMIN.
static void no_net_admin(void) {
	set_cap(CAP_NET_ADMIN, 0);
	int fd = tun_open();
	char name[IFNAMSIZ] = "ctunperm";
	CHECK_EQ(tun_set(fd, name, IFF_TUN | IFF_NO_PI), -EPERM);
	CHECK_EQ(if_nametoindex("ctunperm"), 0);
	close(fd);
}

// bring_up_later brings ctun9 up once its poller has had time to block.
static void *bring_up_later(void *arg) {
	(void)arg;
	usleep(200 * 1000);
	link_up("ctun9", "10.79.0.1");
	return NULL;
}

// A writer waiting for POLLOUT on a down interface wakes when it comes up.
static void up_wakes_writer(void) {
	int fd = tun_open();
	char name[IFNAMSIZ] = "ctun9";
	CHECK_EQ(tun_set(fd, name, IFF_TUN | IFF_NO_PI), 0);
	struct pollfd p = {.fd = fd, .events = POLLOUT};
	CHECK_EQ(poll(&p, 1, 0), 0);
	pthread_t th;
	CHECK_EQ(pthread_create(&th, NULL, bring_up_later, NULL), 0);
	CHECK_EQ(poll(&p, 1, 10000), 1);
	CHECK_EQ(p.revents, POLLOUT);
	CHECK_EQ(pthread_join(th, NULL), 0);
	close(fd);
}

// set_up takes interface name up or down with SIOCSIFFLAGS.
static void set_up(const char *name, int up) {
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr = {0};
	strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
	CHECK_OK(ioctl(s, SIOCGIFFLAGS, &ifr));
	ifr.ifr_flags = up ? ifr.ifr_flags | IFF_UP : ifr.ifr_flags & ~IFF_UP;
	CHECK_OK(ioctl(s, SIOCSIFFLAGS, &ifr));
	close(s);
}

// ipv6_addrs returns how many IPv6 addresses interface name has (by
// getifaddrs) and copies up to max of them to out.
static int ipv6_addrs(const char *name, struct in6_addr *out, int max) {
	struct ifaddrs *ifa;
	CHECK_OK(getifaddrs(&ifa));
	int n = 0;
	for (struct ifaddrs *i = ifa; i; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET6 || strcmp(i->ifa_name, name))
			continue;
		if (n < max)
			out[n] = ((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr;
		n++;
	}
	freeifaddrs(ifa);
	return n;
}

// add_ipv6 gives interface name addr/64, without duplicate address
// detection.
static void add_ipv6(const char *name, const char *addr) {
	int fd = nl_open();
	struct {
		struct ifaddrmsg ifa;
		struct rtattr rta;
		struct in6_addr a;
	} req = {
	    .ifa = {.ifa_family = AF_INET6, .ifa_prefixlen = 64, .ifa_flags = IFA_F_NODAD, .ifa_index = if_nametoindex(name)},
	    .rta = {.rta_len = RTA_LENGTH(sizeof(struct in6_addr)), .rta_type = IFA_LOCAL},
	};
	inet_pton(AF_INET6, addr, &req.a);
	nl_send(fd, RTM_NEWADDR, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, 1, &req, sizeof req);
	CHECK_EQ(nl_collect(fd, 1, NULL, NULL), 0);
	close(fd);
}

struct addr_want {
	int type, idx;
	struct in6_addr addr; // the address, once found
};

static int addr_matches(struct nlmsghdr *h, void *arg) {
	struct addr_want *w = arg;
	struct ifaddrmsg *ifa = NLMSG_DATA(h);
	if (h->nlmsg_type != w->type || (int)ifa->ifa_index != w->idx || ifa->ifa_family != AF_INET6)
		return 0;
	int len = IFA_PAYLOAD(h);
	for (struct rtattr *a = IFA_RTA(ifa); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == IFA_ADDRESS) {
			memcpy(&w->addr, RTA_DATA(a), sizeof w->addr);
			return 1;
		}
	}
	return 0;
}

// wait_addr waits for an rtnetlink message of type on listener nl about
// an IPv6 address of interface idx and returns the address.
static struct in6_addr wait_addr(int nl, int type, int idx) {
	struct addr_want w = {.type = type, .idx = idx};
	wait_msg(nl, addr_matches, &w);
	return w.addr;
}

// An interface coming up gets an IPv6 link-local address: a TAP's from
// its MAC (EUI-64), a TUN's from a random interface ID that stays the
// same after a down and up. Going down drops every IPv6 address, a
// configured one too (keep_addr_on_down is 0). rtnetlink's address
// listeners hear of both.
static void link_local(void) {
	int tun = tun_open(), tap = tun_open();
	char tname[IFNAMSIZ] = "ctunl", pname[IFNAMSIZ] = "ctapl";
	CHECK_EQ(tun_set(tun, tname, IFF_TUN | IFF_NO_PI), 0);
	CHECK_EQ(tun_set(tap, pname, IFF_TAP | IFF_NO_PI), 0);
	struct in6_addr a[4], first;
	CHECK_EQ(ipv6_addrs(tname, a, 4), 0);
	int nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	CHECK(nl >= 0);
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK, .nl_groups = RTMGRP_IPV6_IFADDR};
	CHECK_OK(bind(nl, (struct sockaddr *)&sa, sizeof sa));
	int tidx = if_nametoindex(tname);
	set_up(tname, 1);
	set_up(pname, 1);
	CHECK_EQ(ipv6_addrs(tname, a, 4), 1);
	CHECK(IN6_IS_ADDR_LINKLOCAL(&a[0]));
	CHECK(a[0].s6_addr32[2] | a[0].s6_addr32[3]);
	first = a[0];
	struct in6_addr told = wait_addr(nl, RTM_NEWADDR, tidx);
	CHECK_MEM(&told, &first, sizeof first);

	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr = {0};
	strcpy(ifr.ifr_name, pname);
	CHECK_OK(ioctl(s, SIOCGIFHWADDR, &ifr));
	close(s);
	const unsigned char *mac = (const unsigned char *)ifr.ifr_hwaddr.sa_data;
	unsigned char eui[16] = {0xfe, 0x80, [8] = mac[0] ^ 0x02, mac[1], mac[2], 0xff, 0xfe, mac[3], mac[4], mac[5]};
	CHECK_EQ(ipv6_addrs(pname, a, 4), 1);
	CHECK_MEM(a[0].s6_addr, eui, 16);

	add_ipv6(pname, "fd00:77::1");
	CHECK_EQ(ipv6_addrs(pname, a, 4), 2);
	set_up(tname, 0);
	told = wait_addr(nl, RTM_DELADDR, tidx);
	CHECK_MEM(&told, &first, sizeof first);
	set_up(pname, 0);
	CHECK_EQ(ipv6_addrs(tname, a, 4), 0);
	CHECK_EQ(ipv6_addrs(pname, a, 4), 0);
	// Up through rtnetlink this time.
	link_up(tname, "10.71.0.1");
	told = wait_addr(nl, RTM_NEWADDR, tidx);
	CHECK_MEM(&told, &first, sizeof first);
	close(nl);
	set_up(pname, 1);
	CHECK_EQ(ipv6_addrs(tname, a, 4), 1);
	CHECK_MEM(&a[0], &first, sizeof first);
	CHECK_EQ(ipv6_addrs(pname, a, 4), 1);
	CHECK_MEM(a[0].s6_addr, eui, 16);
	close(tun);
	close(tap);
}

int main(void) {
	enter_netns();
	run_in_child(no_net_admin, 10);
	unattached();
	tun_no_pi();
	tun_pi();
	tun_vnet();
	persist();
	owner();
	tap();
	announced();
	up_wakes_writer();
	link_local();
	return 0;
}
