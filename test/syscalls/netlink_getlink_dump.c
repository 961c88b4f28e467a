// netlink_getlink_dump: an RTM_GETLINK dump lists every interface once,
// in RTM_NEWLINK messages with NLM_F_MULTI, the request's sequence number
// and the socket's port, ended by NLMSG_DONE; lo is among them, a
// loopback that is up with its name, MTU, address and counters; a GET by
// index or by name returns the same interface; unknown ones are ENODEV,
// a request naming none EINVAL; the dump agrees with if_nametoindex and
// SIOCGIFMTU.
//
//go:build ignore

#include "netlink_check.h"
#include <net/if_arp.h>
#include <sys/ioctl.h>

struct link {
	int index, type;
	unsigned flags, mtu;
	char name[IFNAMSIZ];
};

static struct link links[64];
static int nlinks;

static void on_link(struct nlmsghdr *h, void *arg) {
	(void)arg;
	CHECK_EQ(h->nlmsg_type, RTM_NEWLINK);
	CHECK_EQ(h->nlmsg_flags & NLM_F_MULTI, NLM_F_MULTI);
	struct ifinfomsg *ifi = NLMSG_DATA(h);
	CHECK(ifi->ifi_index > 0);
	CHECK(nlinks < 64);
	struct link *l = &links[nlinks++];
	l->index = ifi->ifi_index;
	l->type = ifi->ifi_type;
	l->flags = ifi->ifi_flags;
	struct rtattr *name = rta_get(h, sizeof *ifi, IFLA_IFNAME);
	CHECK(name != NULL);
	CHECK(RTA_PAYLOAD(name) <= IFNAMSIZ);
	CHECK_EQ(((char *)RTA_DATA(name))[RTA_PAYLOAD(name) - 1], 0);
	strcpy(l->name, RTA_DATA(name));
	l->mtu = rta_u32(h, sizeof *ifi, IFLA_MTU);
	CHECK(rta_get(h, sizeof *ifi, IFLA_TXQLEN) != NULL);
	CHECK(rta_get(h, sizeof *ifi, IFLA_OPERSTATE) != NULL);
	struct rtattr *stats = rta_get(h, sizeof *ifi, IFLA_STATS);
	CHECK(stats != NULL);
	CHECK(RTA_PAYLOAD(stats) >= sizeof(struct rtnl_link_stats));
	CHECK(rta_get(h, sizeof *ifi, IFLA_STATS64) != NULL);
	if (ifi->ifi_type == ARPHRD_LOOPBACK || ifi->ifi_type == ARPHRD_ETHER) {
		struct rtattr *addr = rta_get(h, sizeof *ifi, IFLA_ADDRESS);
		CHECK(addr != NULL);
		CHECK_EQ(RTA_PAYLOAD(addr), 6);
		CHECK(rta_get(h, sizeof *ifi, IFLA_BROADCAST) != NULL);
	}
}

static struct link got;

static void on_one(struct nlmsghdr *h, void *arg) {
	(void)arg;
	CHECK_EQ(h->nlmsg_type, RTM_NEWLINK);
	CHECK_EQ(h->nlmsg_flags & NLM_F_MULTI, 0);
	struct ifinfomsg *ifi = NLMSG_DATA(h);
	got.index = ifi->ifi_index;
	got.flags = ifi->ifi_flags;
	got.mtu = rta_u32(h, sizeof *ifi, IFLA_MTU);
	strcpy(got.name, RTA_DATA(rta_get(h, sizeof *ifi, IFLA_IFNAME)));
}

// get_link sends a non-dump RTM_GETLINK with NLM_F_ACK and returns the
// error of its acknowledgement; the reply, if any, lands in got.
static int get_link(int fd, unsigned seq, int index, const char *name) {
	char buf[256];
	memset(buf, 0, sizeof buf);
	struct ifinfomsg *ifi = (void *)buf;
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = index;
	size_t len = NLMSG_ALIGN(sizeof *ifi);
	if (name) {
		struct rtattr *a = (void *)(buf + len);
		a->rta_type = IFLA_IFNAME;
		a->rta_len = RTA_LENGTH(strlen(name) + 1);
		strcpy(RTA_DATA(a), name);
		len += RTA_ALIGN(a->rta_len);
	}
	memset(&got, 0, sizeof got);
	nl_send(fd, RTM_GETLINK, NLM_F_REQUEST | NLM_F_ACK, seq, buf, len);
	return nl_collect(fd, seq, on_one, NULL);
}

int main(void) {
	int fd = nl_open();
	struct rtgenmsg g = {.rtgen_family = AF_UNSPEC};
	nl_dump(fd, RTM_GETLINK, 7, &g, sizeof g);
	CHECK_EQ(nl_collect(fd, 7, on_link, NULL), 0);
	CHECK(nlinks >= 1);

	int lo = -1;
	for (int i = 0; i < nlinks; i++) {
		for (int j = 0; j < i; j++) {
			CHECK(links[i].index != links[j].index);
			CHECK(strcmp(links[i].name, links[j].name) != 0);
		}
		CHECK_EQ(if_nametoindex(links[i].name), links[i].index);
		if (links[i].flags & IFF_LOOPBACK)
			lo = i;
		// SIOCGIFMTU agrees with IFLA_MTU.
		int s = socket(AF_INET, SOCK_DGRAM, 0);
		struct ifreq ifr = {0};
		strcpy(ifr.ifr_name, links[i].name);
		CHECK_OK(ioctl(s, SIOCGIFMTU, &ifr));
		CHECK_EQ(ifr.ifr_mtu, links[i].mtu);
		close(s);
	}
	CHECK(lo >= 0);
	CHECK_EQ(links[lo].type, ARPHRD_LOOPBACK);
	CHECK_EQ(strcmp(links[lo].name, "lo"), 0);
	CHECK(links[lo].flags & IFF_UP);
	CHECK(links[lo].flags & IFF_RUNNING);
	CHECK(links[lo].mtu > 0);

	// By index, then by name: the same interface.
	CHECK_EQ(get_link(fd, 8, links[lo].index, NULL), 0);
	CHECK_EQ(got.index, links[lo].index);
	CHECK_EQ(strcmp(got.name, "lo"), 0);
	CHECK_EQ(got.mtu, links[lo].mtu);
	CHECK_EQ(get_link(fd, 9, 0, "lo"), 0);
	CHECK_EQ(got.index, links[lo].index);
	CHECK_EQ(got.flags, links[lo].flags);

	// Unknown index and name; a request naming nothing.
	CHECK_EQ(get_link(fd, 10, 0x7ffffff0, NULL), -ENODEV);
	CHECK_EQ(got.index, 0);
	CHECK_EQ(get_link(fd, 11, 0, "nosuchif0"), -ENODEV);
	CHECK_EQ(get_link(fd, 12, 0, NULL), -EINVAL);
	return 0;
}
