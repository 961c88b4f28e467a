// netlink_getaddr_dump: an RTM_GETADDR dump lists the addresses of every
// interface: lo has 127.0.0.1/8 (IFA_ADDRESS and IFA_LOCAL, IFA_LABEL
// "lo", scope host) and ::1/128 (scope host); each names an interface that
// exists; the family of the request filters (AF_INET, AF_INET6), an
// AF_UNSPEC dump has both; IPv4 broadcast addresses are those of the
// prefix; the IPv4 addresses are what SIOCGIFCONF lists.
//
//go:build ignore

#include "netlink_check.h"
#include <sys/ioctl.h>

struct addr {
	int family, prefix, scope, index;
	unsigned char local[16];
	char label[IFNAMSIZ];
};

static struct addr addrs[256];
static int naddrs;

static void on_addr(struct nlmsghdr *h, void *arg) {
	int want = *(int *)arg;
	CHECK_EQ(h->nlmsg_type, RTM_NEWADDR);
	CHECK_EQ(h->nlmsg_flags & NLM_F_MULTI, NLM_F_MULTI);
	struct ifaddrmsg *ifa = NLMSG_DATA(h);
	if (want != AF_UNSPEC)
		CHECK_EQ(ifa->ifa_family, want);
	CHECK(ifa->ifa_family == AF_INET || ifa->ifa_family == AF_INET6);
	char name[IFNAMSIZ];
	CHECK(if_indextoname(ifa->ifa_index, name) != NULL);
	CHECK(naddrs < 256);
	struct addr *a = &addrs[naddrs++];
	a->family = ifa->ifa_family;
	a->prefix = ifa->ifa_prefixlen;
	a->scope = ifa->ifa_scope;
	a->index = ifa->ifa_index;
	int alen = a->family == AF_INET ? 4 : 16;
	struct rtattr *address = rta_get(h, sizeof *ifa, IFA_ADDRESS);
	CHECK(address != NULL);
	CHECK_EQ(RTA_PAYLOAD(address), alen);
	memcpy(a->local, RTA_DATA(address), alen);
	if (a->family == AF_INET) {
		CHECK(a->prefix <= 32);
		struct rtattr *local = rta_get(h, sizeof *ifa, IFA_LOCAL);
		CHECK(local != NULL);
		CHECK_MEM(RTA_DATA(local), a->local, 4);
		struct rtattr *label = rta_get(h, sizeof *ifa, IFA_LABEL);
		CHECK(label != NULL);
		strcpy(a->label, RTA_DATA(label));
		// An interface's own addresses carry its name.
		CHECK_EQ(strncmp(a->label, name, strlen(name)), 0);
		struct rtattr *brd = rta_get(h, sizeof *ifa, IFA_BROADCAST);
		if (brd && a->prefix < 31) {
			uint32_t host = ntohl(*(uint32_t *)a->local), b = ntohl(*(uint32_t *)RTA_DATA(brd));
			uint32_t mask = a->prefix ? ~0u << (32 - a->prefix) : 0;
			CHECK_EQ(b & mask, host & mask);
			CHECK_EQ(b | mask, 0xffffffffu);
		}
	} else {
		CHECK(a->prefix <= 128);
	}
	struct rtattr *ci = rta_get(h, sizeof *ifa, IFA_CACHEINFO);
	CHECK(ci != NULL);
	CHECK_EQ(RTA_PAYLOAD(ci), sizeof(struct ifa_cacheinfo));
}

static int dump(int fd, int family, unsigned seq) {
	naddrs = 0;
	struct ifaddrmsg ifa = {.ifa_family = family};
	nl_dump(fd, RTM_GETADDR, seq, &ifa, sizeof ifa);
	CHECK_EQ(nl_collect(fd, seq, on_addr, &family), 0);
	return naddrs;
}

int main(void) {
	int fd = nl_open();
	unsigned lo = if_nametoindex("lo");
	CHECK(lo > 0);

	int n4 = dump(fd, AF_INET, 1);
	int found = 0;
	for (int i = 0; i < n4; i++) {
		struct addr *a = &addrs[i];
		if (a->index == (int)lo && a->local[0] == 127 && a->local[3] == 1) {
			CHECK_EQ(a->prefix, 8);
			CHECK_EQ(a->scope, RT_SCOPE_HOST);
			CHECK_EQ(strcmp(a->label, "lo"), 0);
			found++;
		}
	}
	CHECK_EQ(found, 1);

	// SIOCGIFCONF lists the same IPv4 addresses.
	struct ifreq reqs[256];
	struct ifconf ifc = {.ifc_len = sizeof reqs, .ifc_req = reqs};
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	CHECK_OK(ioctl(s, SIOCGIFCONF, &ifc));
	CHECK_EQ(ifc.ifc_len, n4 * (int)sizeof(struct ifreq));
	for (int i = 0; i < n4; i++) {
		int match = 0;
		for (int j = 0; j < n4; j++) {
			struct sockaddr_in *sin = (void *)&reqs[j].ifr_addr;
			if (sin->sin_family == AF_INET && memcmp(&sin->sin_addr, addrs[i].local, 4) == 0 &&
			    strcmp(reqs[j].ifr_name, addrs[i].label) == 0)
				match = 1;
		}
		CHECK(match);
	}

	int n6 = dump(fd, AF_INET6, 2);
	static const unsigned char loop6[16] = {[15] = 1};
	found = 0;
	for (int i = 0; i < n6; i++)
		if (memcmp(addrs[i].local, loop6, 16) == 0) {
			CHECK_EQ(addrs[i].index, lo);
			CHECK_EQ(addrs[i].prefix, 128);
			CHECK_EQ(addrs[i].scope, RT_SCOPE_HOST);
			found++;
		}
	CHECK_EQ(found, 1);

	// AF_UNSPEC: both families, IPv4 first.
	CHECK_EQ(dump(fd, AF_UNSPEC, 3), n4 + n6);
	for (int i = 0; i < n4 + n6; i++)
		CHECK_EQ(addrs[i].family, i < n4 ? AF_INET : AF_INET6);
	return 0;
}
