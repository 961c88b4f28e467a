// net_neigh_dump: RTM_GETNEIGH (what `ip neigh` asks) in a fresh network
// namespace. A dump answers with struct ndmsg messages, none in a new
// namespace, and NLMSG_DONE, for AF_UNSPEC, AF_INET and AF_INET6, a bare
// rtgenmsg request and a proxy (NTF_PROXY) request alike; a family
// without a neighbour table has an empty dump. With
// NETLINK_GET_STRICT_CHK, a header with ndm_ifindex set or an attribute
// other than NDA_IFINDEX/NDA_MASTER is EINVAL, and NDA_IFINDEX filters.
// A lookup (no NLM_F_DUMP) of an address nobody resolved is ENOENT; one
// without NDA_DST is EINVAL, on an unknown interface ENODEV.
//
//go:build ignore

#define _GNU_SOURCE
#include "netlink_check.h"
#include <linux/neighbour.h>
#include <sched.h>

static int entries;

static void on_neigh(struct nlmsghdr *h, void *arg) {
	(void)arg;
	CHECK_EQ(h->nlmsg_flags & NLM_F_MULTI, NLM_F_MULTI);
	CHECK_EQ(h->nlmsg_type, RTM_NEWNEIGH);
	CHECK(h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct ndmsg)));
	struct ndmsg *nd = NLMSG_DATA(h);
	CHECK(nd->ndm_family == AF_INET || nd->ndm_family == AF_INET6);
	CHECK(rta_get(h, sizeof *nd, NDA_DST) != NULL);
	entries++;
}

// dump sends an RTM_GETNEIGH dump with len bytes of nd and optional
// NDA_IFINDEX attribute of type attr (0: none), returning the error.
static int dump(int fd, unsigned seq, struct ndmsg nd, size_t len, int attr, unsigned val) {
	char buf[64];
	memset(buf, 0, sizeof buf);
	memcpy(buf, &nd, len);
	size_t total = len;
	if (attr) {
		struct rtattr *a = (void *)(buf + NLMSG_ALIGN(sizeof nd));
		a->rta_type = attr;
		a->rta_len = RTA_LENGTH(4);
		memcpy(RTA_DATA(a), &val, 4);
		total = NLMSG_ALIGN(sizeof nd) + a->rta_len;
	}
	entries = 0;
	nl_dump(fd, RTM_GETNEIGH, seq, buf, total);
	return nl_collect(fd, seq, on_neigh, NULL);
}

// get looks up the entry of addr (of dstlen bytes: 0 for none).
static int get(int fd, unsigned seq, int family, int ifindex, const char *addr, int dstlen) {
	char buf[64];
	memset(buf, 0, sizeof buf);
	struct ndmsg *nd = (void *)buf;
	nd->ndm_family = family;
	nd->ndm_ifindex = ifindex;
	size_t len = sizeof *nd;
	if (dstlen) {
		struct rtattr *a = (void *)(buf + NLMSG_ALIGN(sizeof *nd));
		a->rta_type = NDA_DST;
		a->rta_len = RTA_LENGTH(dstlen);
		CHECK_EQ(inet_pton(strchr(addr, ':') ? AF_INET6 : AF_INET, addr, RTA_DATA(a)), 1);
		len = NLMSG_ALIGN(sizeof *nd) + a->rta_len;
	}
	entries = 0;
	nl_send(fd, RTM_GETNEIGH, NLM_F_REQUEST | NLM_F_ACK, seq, buf, len);
	return nl_collect(fd, seq, on_neigh, NULL);
}

int main(void) {
	CHECK_OK(unshare(CLONE_NEWNET));
	int fd = nl_open();
	int lo = if_nametoindex("lo");
	CHECK(lo > 0);
	int families[] = {AF_UNSPEC, AF_INET, AF_INET6, AF_PACKET};
	unsigned seq = 1;
	for (int i = 0; i < 4; i++) {
		struct ndmsg nd = {.ndm_family = families[i]};
		CHECK_EQ(dump(fd, seq++, nd, sizeof nd, 0, 0), 0);
		CHECK_EQ(entries, 0);
		// A bare rtgenmsg, as old tools send.
		CHECK_EQ(dump(fd, seq++, nd, 1, 0, 0), 0);
		CHECK_EQ(entries, 0);
	}
	struct ndmsg proxy = {.ndm_family = AF_INET, .ndm_flags = NTF_PROXY};
	CHECK_EQ(dump(fd, seq++, proxy, sizeof proxy, 0, 0), 0);
	CHECK_EQ(entries, 0);
	// Lenient requests ignore what they cannot use.
	struct ndmsg odd = {.ndm_family = AF_INET, .ndm_ifindex = 12345, .ndm_state = NUD_PERMANENT};
	CHECK_EQ(dump(fd, seq++, odd, sizeof odd, NDA_DST, 0), 0);

	int one = 1;
	CHECK_OK(setsockopt(fd, SOL_NETLINK, NETLINK_GET_STRICT_CHK, &one, sizeof one));
	struct ndmsg plain = {.ndm_family = AF_INET};
	CHECK_EQ(dump(fd, seq++, plain, sizeof plain, 0, 0), 0);
	CHECK_EQ(dump(fd, seq++, plain, sizeof plain, NDA_IFINDEX, lo), 0);
	CHECK_EQ(entries, 0);
	CHECK_EQ(dump(fd, seq++, odd, sizeof odd, 0, 0), -EINVAL);
	CHECK_EQ(dump(fd, seq++, plain, sizeof plain, NDA_DST, 0), -EINVAL);
	CHECK_EQ(dump(fd, seq++, plain, 1, 0, 0), -EINVAL);
	struct ndmsg badflags = {.ndm_family = AF_INET, .ndm_flags = NTF_ROUTER};
	CHECK_EQ(dump(fd, seq++, badflags, sizeof badflags, 0, 0), -EINVAL);

	CHECK_EQ(get(fd, seq++, AF_INET, lo, "127.0.0.1", 4), -ENOENT);
	CHECK_EQ(entries, 0);
	CHECK_EQ(get(fd, seq++, AF_INET6, lo, "::1", 16), -ENOENT);
	// No NDA_DST or no interface: EINVAL, before the family and the
	// interface are looked at.
	CHECK_EQ(get(fd, seq++, AF_INET, lo, NULL, 0), -EINVAL);
	CHECK_EQ(get(fd, seq++, AF_PACKET, lo, NULL, 0), -EINVAL);
	CHECK_EQ(get(fd, seq++, AF_INET, 12345, NULL, 0), -EINVAL);
	CHECK_EQ(get(fd, seq++, AF_INET, 0, "127.0.0.1", 4), -EINVAL);
	CHECK_EQ(get(fd, seq++, AF_PACKET, 0, "127.0.0.1", 4), -EINVAL);
	// A family without a table, then a key of the wrong size, then the
	// interface.
	CHECK_EQ(get(fd, seq++, AF_PACKET, 12345, "127.0.0.1", 4), -EAFNOSUPPORT);
	CHECK_EQ(get(fd, seq++, AF_INET6, lo, "127.0.0.1", 4), -EINVAL);
	CHECK_EQ(get(fd, seq++, AF_INET, 12345, "127.0.0.1", 4), -ENODEV);
	close(fd);
	return 0;
}
