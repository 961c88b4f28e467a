// proc_net_igmp: /proc/net/igmp, igmp6 and dev_mcast list the multicast
// groups of the namespace's interfaces in Linux's formats. lo is in the
// IPv6 all-nodes groups ff02::1 and ff01::1 from the start, up or down
// (flags LOADED|NOREPORT and NOREPORT), and in the IPv4 all-hosts group
// 224.0.0.1 while up. A group a socket joins goes to the head of its
// family's list with one user, another socket's join of it makes two
// users, and a leave or a close takes them off; a group narrower than
// link-local scope is never reported nor loaded. When lo goes down it
// leaves 224.0.0.1, keeps the groups its sockets joined, and its IPv6
// groups lose LOADED until it comes up again. Loopback maps
// no link-layer address: dev_mcast has no line for it. A TUN device, down,
// is in the all-nodes groups; its net.ipv6.conf.NAME.forwarding set, in
// the all-routers groups ff02::2, ff01::2 and ff05::2 too, until it is
// cleared.
//
//go:build ignore

#include "inet_check.h"
#include "net_sysctl_check.h"
#include "tun_check.h"

static char text[1 << 16];

static const char *igmp_header = "Idx\tDevice    : Count Querier\tGroup    Users Timer\tReporter\n";

// expect_file checks that path holds exactly want.
static void expect_file(const char *path, const char *want) {
	long n = read_text(path, text, sizeof text);
	CHECK(n >= 0);
	text[n] = 0;
	if (strcmp(text, want) != 0)
		FAIL("%s is\n%s\nwant\n%s", path, text, want);
}

// expect_igmp checks /proc/net/igmp: its header, then lo's section (none
// if count is 0) with the groups given, each "GROUP USERS".
static void expect_igmp(int count, const char *groups[]) {
	char want[1024];
	int n = snprintf(want, sizeof want, "%s", igmp_header);
	if (count > 0)
		n += snprintf(want + n, sizeof want - n, "1\tlo        : %5d %7s\n", count, "V3");
	for (int i = 0; i < count; i++) {
		char g[16];
		int users;
		CHECK_EQ(sscanf(groups[i], "%15s %d", g, &users), 2);
		n += snprintf(want + n, sizeof want - n, "\t\t\t\t%s %5d 0:00000000\t\t0\n", g, users);
	}
	expect_file("/proc/net/igmp", want);
}

static void join4(int s, int add, const char *group) {
	struct ip_mreqn m = {.imr_ifindex = 1};
	CHECK_EQ(inet_pton(AF_INET, group, &m.imr_multiaddr), 1);
	CHECK_OK(setsockopt(s, IPPROTO_IP, add ? IP_ADD_MEMBERSHIP : IP_DROP_MEMBERSHIP, &m, sizeof m));
}

static void join6(int s, const char *group) {
	struct ipv6_mreq m = {.ipv6mr_interface = 1};
	CHECK_EQ(inet_pton(AF_INET6, group, &m.ipv6mr_multiaddr), 1);
	CHECK_OK(setsockopt(s, IPPROTO_IPV6, IPV6_ADD_MEMBERSHIP, &m, sizeof m));
}

#define LO6(group, flags) "1    lo              " group "     1 " flags " 0\n"
#define ALL_NODES LO6("ff020000000000000000000000000001", "0000000C") LO6("ff010000000000000000000000000001", "00000008")
// Once lo has gone down, its groups are out of its link-layer filter (no
// LOADED).
#define ALL_NODES_DROPPED LO6("ff020000000000000000000000000001", "00000008") LO6("ff010000000000000000000000000001", "00000008")

int main(void) {
	enter_netns();
	expect_igmp(0, NULL);
	expect_file("/proc/net/igmp6", ALL_NODES);
	expect_file("/proc/net/dev_mcast", "");

	lo_set(1);
	expect_igmp(1, (const char *[]){"010000E0 1"});

	int a = socket(AF_INET, SOCK_DGRAM, 0), b = socket(AF_INET, SOCK_DGRAM, 0);
	CHECK(a >= 0 && b >= 0);
	join4(a, 1, "239.1.2.3");
	expect_igmp(2, (const char *[]){"030201EF 1", "010000E0 1"});
	join4(b, 1, "239.1.2.3");
	expect_igmp(2, (const char *[]){"030201EF 2", "010000E0 1"});
	join4(a, 1, "239.1.2.4");
	expect_igmp(3, (const char *[]){"040201EF 1", "030201EF 2", "010000E0 1"});
	join4(a, 0, "239.1.2.3");
	expect_igmp(3, (const char *[]){"040201EF 1", "030201EF 1", "010000E0 1"});
	CHECK_OK(close(b));
	expect_igmp(2, (const char *[]){"040201EF 1", "010000E0 1"});

	int c = socket(AF_INET6, SOCK_DGRAM, 0);
	CHECK(c >= 0);
	join6(c, "ff02::1234");
	expect_file("/proc/net/igmp6", LO6("ff020000000000000000000000001234", "00000004") ALL_NODES);
	join6(c, "ff01::5");
	expect_file("/proc/net/igmp6", LO6("ff010000000000000000000000000005", "00000008") LO6("ff020000000000000000000000001234", "00000004") ALL_NODES);
	expect_file("/proc/net/dev_mcast", "");
	CHECK_OK(close(c));
	expect_file("/proc/net/igmp6", ALL_NODES);

	lo_set(0);
	expect_igmp(1, (const char *[]){"040201EF 1"});
	expect_file("/proc/net/igmp6", ALL_NODES_DROPPED);
	CHECK_OK(close(a));
	expect_igmp(0, NULL);

	int t = tun_open();
	char name[IFNAMSIZ] = "cocoonmc0";
	CHECK_EQ(tun_set(t, name, IFF_TUN | IFF_NO_PI), 0);
	char want[1024], line[128];
	int idx = if_nametoindex(name);
#define TUN6(group, flags) (snprintf(line, sizeof line, "%-4d %-15s %s     1 %s 0\n", idx, name, group, flags), strcat(want, line))
	strcpy(want, ALL_NODES_DROPPED);
	TUN6("ff020000000000000000000000000001", "0000000C");
	TUN6("ff010000000000000000000000000001", "00000008");
	expect_file("/proc/net/igmp6", want);
	char key[64];
	snprintf(key, sizeof key, "net/ipv6/conf/%s/forwarding", name);
	CHECK_EQ(sysctl_put(key, "1"), 0);
	strcpy(want, ALL_NODES_DROPPED);
	TUN6("ff050000000000000000000000000002", "00000004");
	TUN6("ff010000000000000000000000000002", "00000008");
	TUN6("ff020000000000000000000000000002", "00000004");
	TUN6("ff020000000000000000000000000001", "0000000C");
	TUN6("ff010000000000000000000000000001", "00000008");
	expect_file("/proc/net/igmp6", want);
	expect_file("/proc/net/dev_mcast", "");
	CHECK_EQ(sysctl_put(key, "0"), 0);
	strcpy(want, ALL_NODES_DROPPED);
	TUN6("ff020000000000000000000000000001", "0000000C");
	TUN6("ff010000000000000000000000000001", "00000008");
	expect_file("/proc/net/igmp6", want);

	// Up again, lo's groups are loaded again.
	lo_set(1);
	strcpy(want, ALL_NODES);
	TUN6("ff020000000000000000000000000001", "0000000C");
	TUN6("ff010000000000000000000000000001", "00000008");
	expect_file("/proc/net/igmp6", want);
	expect_igmp(1, (const char *[]){"010000E0 1"});
	return 0;
}
