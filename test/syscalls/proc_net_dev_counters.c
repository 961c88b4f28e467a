// proc_net_dev_counters: traffic over lo raises lo's counters: after 20
// UDP datagrams to 127.0.0.1, lo's receive and transmit packets and bytes
// in /proc/net/dev, /sys/class/net/lo/statistics and the rtnetlink
// IFLA_STATS64 have each grown by at least the traffic, and so have Udp
// InDatagrams and OutDatagrams in /proc/net/snmp.
//
//go:build ignore

#include "inet_check.h"
#include "netlink_check.h"

struct counters {
	unsigned long long rx_bytes, rx_packets, tx_bytes, tx_packets;
};

static struct counters from_proc(void) {
	FILE *f = fopen("/proc/net/dev", "r");
	CHECK(f != NULL);
	char line[512];
	struct counters c;
	while (fgets(line, sizeof line, f)) {
		char *colon = strchr(line, ':');
		if (!colon)
			continue;
		*colon = 0;
		if (strcmp(line + strspn(line, " "), "lo") != 0)
			continue;
		CHECK_EQ(sscanf(colon + 1, "%llu %llu %*u %*u %*u %*u %*u %*u %llu %llu", &c.rx_bytes, &c.rx_packets, &c.tx_bytes, &c.tx_packets), 4);
		fclose(f);
		return c;
	}
	FAIL("no lo in /proc/net/dev");
}

static unsigned long long stat_of(const char *name) {
	char path[128], buf[64] = {0};
	snprintf(path, sizeof path, "/sys/class/net/lo/statistics/%s", name);
	FILE *f = fopen(path, "r");
	CHECK(f != NULL);
	CHECK(fgets(buf, sizeof buf, f) != NULL);
	fclose(f);
	return strtoull(buf, NULL, 10);
}

static struct counters from_sys(void) {
	return (struct counters){stat_of("rx_bytes"), stat_of("rx_packets"), stat_of("tx_bytes"), stat_of("tx_packets")};
}

static struct counters nl;

static void on_link(struct nlmsghdr *h, void *arg) {
	(void)arg;
	struct ifinfomsg *ifi = NLMSG_DATA(h);
	struct rtattr *a = rta_get(h, sizeof *ifi, IFLA_STATS64);
	CHECK(a != NULL);
	struct rtnl_link_stats64 st;
	memcpy(&st, RTA_DATA(a), sizeof st);
	nl = (struct counters){st.rx_bytes, st.rx_packets, st.tx_bytes, st.tx_packets};
}

static struct counters from_netlink(int fd, unsigned seq) {
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_index = if_nametoindex("lo")};
	nl_send(fd, RTM_GETLINK, NLM_F_REQUEST | NLM_F_ACK, seq, &ifi, sizeof ifi);
	CHECK_EQ(nl_collect(fd, seq, on_link, NULL), 0);
	return nl;
}

// udp_counter returns Udp's counter called name in /proc/net/snmp.
static unsigned long long udp_counter(const char *name) {
	FILE *f = fopen("/proc/net/snmp", "r");
	CHECK(f != NULL);
	char head[1024], vals[1024];
	while (fgets(head, sizeof head, f)) {
		if (strncmp(head, "Udp: ", 5) != 0)
			continue;
		CHECK(fgets(vals, sizeof vals, f) != NULL);
		fclose(f);
		char *hs, *vs, *h = strtok_r(head + 5, " \n", &hs), *v = strtok_r(vals + 5, " \n", &vs);
		for (; h && v; h = strtok_r(NULL, " \n", &hs), v = strtok_r(NULL, " \n", &vs))
			if (strcmp(h, name) == 0)
				return strtoull(v, NULL, 10);
		FAIL("no Udp %s", name);
	}
	FAIL("no Udp line in /proc/net/snmp");
}

static void grew(struct counters before, struct counters after, int packets, int bytes) {
	CHECK(after.rx_packets >= before.rx_packets + packets);
	CHECK(after.tx_packets >= before.tx_packets + packets);
	CHECK(after.rx_bytes >= before.rx_bytes + bytes);
	CHECK(after.tx_bytes >= before.tx_bytes + bytes);
}

int main(void) {
	int fd = nl_open();
	int r = socket(AF_INET, SOCK_DGRAM, 0), w = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = lo4(0);
	CHECK_OK(bind(r, (struct sockaddr *)&a, sizeof a));
	a = lo4(port_of(r));
	CHECK_OK(connect(w, (struct sockaddr *)&a, sizeof a));

	struct counters p0 = from_proc(), s0 = from_sys(), n0 = from_netlink(fd, 1);
	unsigned long long in0 = udp_counter("InDatagrams"), out0 = udp_counter("OutDatagrams");
	enum { N = 20, LEN = 100 };
	char buf[LEN] = {0};
	for (int i = 0; i < N; i++) {
		CHECK_EQ(send(w, buf, LEN, 0), LEN);
		struct pollfd p = {.fd = r, .events = POLLIN};
		CHECK_EQ(poll(&p, 1, 5000), 1);
		CHECK_EQ(recv(r, buf, LEN, 0), LEN);
	}
	grew(p0, from_proc(), N, N * LEN);
	grew(s0, from_sys(), N, N * LEN);
	grew(n0, from_netlink(fd, 2), N, N * LEN);
	CHECK(udp_counter("InDatagrams") >= in0 + N);
	CHECK(udp_counter("OutDatagrams") >= out0 + N);
	return 0;
}
