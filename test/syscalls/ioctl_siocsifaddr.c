// ioctl_siocsifaddr: the address ioctls ifconfig changes an interface's
// IPv4 addresses with (devinet_ioctl), and address labels. SIOCSIFADDR on
// an alias ("lo:1") makes an address labelled with it, with its class's
// netmask and, on a broadcast device (a TAP one), the broadcast address
// of that prefix; SIOCSIFNETMASK changes the prefix (EINVAL for a mask
// with a hole), and a broadcast address that was the old prefix's follows
// it; SIOCSIFBRDADDR sets the broadcast address; SIOCSIFADDR on a label
// that has an address replaces it, with 0.0.0.0 deletes it. Errors: a
// multicast address or a family other than AF_INET is EINVAL, an unknown
// device ENODEV, a netmask for a label without an address EADDRNOTAVAIL,
// all of them without CAP_NET_ADMIN EPERM. SIOCGIFCONF names each address
// by its label. rtnetlink's IFA_LABEL labels an address too (ERANGE past
// IFNAMSIZ-1 bytes), and RTM_DELADDR with a label deletes only an address
// that has it. Runs in a network namespace of its own.
//
//go:build ignore

#include "inet_check.h"
#include "net_sysctl_check.h"
#include "tun_check.h"
#include <linux/capability.h>
#include <linux/if_addr.h>
#include <sys/syscall.h>

static int sock;

// set makes request req on interface name with IPv4 address addr (family
// AF_INET unless family is given): 0 or the errno.
static int set_family(unsigned long req, const char *name, const char *addr, int family) {
	struct ifreq ifr = {0};
	strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
	struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
	sin->sin_family = family;
	CHECK_EQ(inet_pton(AF_INET, addr, &sin->sin_addr), 1);
	return ioctl(sock, req, &ifr) == 0 ? 0 : errno;
}

static int set(unsigned long req, const char *name, const char *addr) {
	return set_family(req, name, addr, AF_INET);
}

// get returns what request req answers for name ("" and errno set on
// failure).
static const char *get(unsigned long req, const char *name) {
	static char out[INET_ADDRSTRLEN];
	struct ifreq ifr = {0};
	strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
	if (ioctl(sock, req, &ifr) != 0)
		return "";
	struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
	CHECK_EQ(sin->sin_family, AF_INET);
	CHECK(inet_ntop(AF_INET, &sin->sin_addr, out, sizeof out) != NULL);
	return out;
}

#define EXPECT_GET(req, name, want)                                            \
	do {                                                                   \
		const char *got_ = get(req, name);                             \
		if (strcmp(got_, want) != 0)                                   \
			FAIL(#req " %s = \"%s\" (%s), want %s", name, got_,    \
			     *got_ ? "" : strerror(errno), want);              \
	} while (0)

// in_ifconf reports whether SIOCGIFCONF lists addr under name.
static int in_ifconf(const char *name, const char *addr) {
	struct ifreq reqs[64];
	struct ifconf ifc = {.ifc_len = sizeof reqs, .ifc_req = reqs};
	CHECK_OK(ioctl(sock, SIOCGIFCONF, &ifc));
	for (int i = 0; i < ifc.ifc_len / (int)sizeof reqs[0]; i++) {
		char a[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, &((struct sockaddr_in *)&reqs[i].ifr_addr)->sin_addr, a, sizeof a);
		if (strcmp(reqs[i].ifr_name, name) == 0 && strcmp(a, addr) == 0)
			return 1;
	}
	return 0;
}

// addr_msg sends RTM_NEWADDR or RTM_DELADDR for addr/24 on lo with label
// (none if NULL) and returns the acknowledgement's errno.
static int addr_msg(int type, const char *addr, const char *label) {
	struct {
		struct nlmsghdr h;
		struct ifaddrmsg a;
		char attrs[64];
	} req = {0};
	req.h.nlmsg_type = type;
	req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | (type == RTM_NEWADDR ? NLM_F_CREATE | NLM_F_EXCL : 0);
	req.a.ifa_family = AF_INET;
	req.a.ifa_prefixlen = 24;
	req.a.ifa_index = 1;
	struct rtattr *r = (struct rtattr *)req.attrs;
	r->rta_type = IFA_LOCAL;
	r->rta_len = RTA_LENGTH(4);
	CHECK_EQ(inet_pton(AF_INET, addr, RTA_DATA(r)), 1);
	size_t len = RTA_ALIGN(r->rta_len);
	if (label) {
		r = (struct rtattr *)(req.attrs + len);
		r->rta_type = IFA_LABEL;
		r->rta_len = RTA_LENGTH(strlen(label) + 1);
		memcpy(RTA_DATA(r), label, strlen(label) + 1);
		len += RTA_ALIGN(r->rta_len);
	}
	req.h.nlmsg_len = NLMSG_LENGTH(sizeof req.a) + len;
	int fd = nl_open();
	CHECK_EQ(send(fd, &req, req.h.nlmsg_len, 0), (ssize_t)req.h.nlmsg_len);
	char buf[4096];
	ssize_t n = recv(fd, buf, sizeof buf, 0);
	CHECK(n >= (ssize_t)NLMSG_LENGTH(sizeof(struct nlmsgerr)));
	struct nlmsghdr *h = (struct nlmsghdr *)buf;
	CHECK_EQ(h->nlmsg_type, NLMSG_ERROR);
	close(fd);
	return -((struct nlmsgerr *)NLMSG_DATA(h))->error;
}

int main(void) {
	enter_netns();
	lo_up();
	sock = socket(AF_INET, SOCK_DGRAM, 0);
	CHECK(sock >= 0);

	// An alias of lo: class A's netmask, no broadcast address.
	CHECK_EQ(set(SIOCSIFADDR, "lo:1", "10.1.2.3"), 0);
	EXPECT_GET(SIOCGIFADDR, "lo:1", "10.1.2.3");
	EXPECT_GET(SIOCGIFNETMASK, "lo:1", "255.0.0.0");
	EXPECT_GET(SIOCGIFBRDADDR, "lo:1", "0.0.0.0");
	EXPECT_GET(SIOCGIFADDR, "lo", "127.0.0.1");
	CHECK(in_ifconf("lo:1", "10.1.2.3"));
	CHECK(in_ifconf("lo", "127.0.0.1"));

	CHECK_EQ(set(SIOCSIFNETMASK, "lo:1", "255.255.0.0"), 0);
	EXPECT_GET(SIOCGIFNETMASK, "lo:1", "255.255.0.0");
	CHECK_EQ(set(SIOCSIFNETMASK, "lo:1", "255.0.255.0"), EINVAL);
	CHECK_EQ(set(SIOCSIFBRDADDR, "lo:1", "10.1.255.255"), 0);
	EXPECT_GET(SIOCGIFBRDADDR, "lo:1", "10.1.255.255");

	CHECK_EQ(set(SIOCSIFADDR, "lo:1", "224.1.1.1"), EINVAL);
	CHECK_EQ(set_family(SIOCSIFADDR, "lo:1", "10.1.2.9", AF_INET6), EINVAL);
	CHECK_EQ(set(SIOCSIFADDR, "nosuch0:1", "10.1.2.9"), ENODEV);
	CHECK_EQ(set(SIOCSIFNETMASK, "lo:9", "255.255.255.0"), EADDRNOTAVAIL);
	CHECK_EQ(set(SIOCSIFBRDADDR, "lo:9", "10.255.255.255"), EADDRNOTAVAIL);

	// A new address for the label replaces the old one.
	CHECK_EQ(set(SIOCSIFADDR, "lo:1", "10.1.2.4"), 0);
	EXPECT_GET(SIOCGIFADDR, "lo:1", "10.1.2.4");
	EXPECT_GET(SIOCGIFNETMASK, "lo:1", "255.0.0.0");
	CHECK(!in_ifconf("lo:1", "10.1.2.3"));
	CHECK_EQ(set(SIOCSIFADDR, "lo:2", "192.168.7.1"), 0);
	EXPECT_GET(SIOCGIFNETMASK, "lo:2", "255.255.255.0");
	CHECK_EQ(set(SIOCSIFADDR, "lo:1", "0.0.0.0"), 0);
	CHECK_EQ(strcmp(get(SIOCGIFADDR, "lo:1"), ""), 0);
	CHECK_EQ(errno, EADDRNOTAVAIL);
	CHECK(in_ifconf("lo:2", "192.168.7.1"));

	// A TAP device broadcasts: its address gets its prefix's broadcast
	// address, which follows a new netmask.
	int t = tun_open();
	char tap[IFNAMSIZ] = "cocoontap0";
	CHECK_EQ(tun_set(t, tap, IFF_TAP | IFF_NO_PI), 0);
	CHECK_EQ(set(SIOCSIFADDR, tap, "10.2.3.4"), 0);
	EXPECT_GET(SIOCGIFBRDADDR, tap, "10.255.255.255");
	CHECK_EQ(set(SIOCSIFNETMASK, tap, "255.255.0.0"), 0);
	EXPECT_GET(SIOCGIFBRDADDR, tap, "10.2.255.255");
	// One the user chose stays.
	CHECK_EQ(set(SIOCSIFBRDADDR, tap, "10.2.0.255"), 0);
	CHECK_EQ(set(SIOCSIFNETMASK, tap, "255.255.255.0"), 0);
	EXPECT_GET(SIOCGIFBRDADDR, tap, "10.2.0.255");
	EXPECT_GET(SIOCGIFNETMASK, tap, "255.255.255.0");

	// rtnetlink labels.
	CHECK_EQ(addr_msg(RTM_NEWADDR, "10.5.5.5", "lo:5"), 0);
	EXPECT_GET(SIOCGIFADDR, "lo:5", "10.5.5.5");
	CHECK(in_ifconf("lo:5", "10.5.5.5"));
	CHECK_EQ(addr_msg(RTM_NEWADDR, "10.5.6.6", "lo:12345678901234"), ERANGE);
	CHECK_EQ(addr_msg(RTM_DELADDR, "10.5.5.5", "lo:6"), EADDRNOTAVAIL);
	CHECK_EQ(addr_msg(RTM_DELADDR, "10.5.5.5", "lo:5"), 0);
	CHECK(!in_ifconf("lo:5", "10.5.5.5"));

	// Without CAP_NET_ADMIN.
	struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct data[2];
	CHECK_OK(syscall(SYS_capget, &hdr, data));
	data[CAP_NET_ADMIN / 32].effective &= ~(1u << (CAP_NET_ADMIN % 32));
	CHECK_OK(syscall(SYS_capset, &hdr, data));
	CHECK_EQ(set(SIOCSIFADDR, "lo:3", "10.3.3.3"), EPERM);
	CHECK_EQ(set_family(SIOCSIFNETMASK, "nosuch0", "255.0.0.0", AF_INET6), EPERM);
	return 0;
}
