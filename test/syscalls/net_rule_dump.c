// net_rule_dump: RTM_GETRULE (what `ip rule` asks) in a fresh network
// namespace lists Linux's default policy rules as struct fib_rule_hdr
// messages: for AF_INET priority 0 -> table local, 32766 -> main,
// 32767 -> default; for AF_INET6 0 -> local and 32766 -> main. Each
// looks up its table (FR_ACT_TO_TBL), carries FRA_TABLE,
// FRA_SUPPRESS_PREFIXLEN -1, FRA_PROTOCOL kernel, and FRA_PRIORITY
// unless it is 0. AF_UNSPEC lists every family's (the multicast routing
// families' own rules included where the kernel has them). A family
// without rules is EAFNOSUPPORT; a GET without NLM_F_DUMP is EOPNOTSUPP;
// a strict request's header must be zero.
//
//go:build ignore

#define _GNU_SOURCE
#include "netlink_check.h"
#include <linux/fib_rules.h>
#include <sched.h>

struct rule {
	int family, table, prio;
};
static struct rule rules[16];
static int nrules;

static void on_rule(struct nlmsghdr *h, void *arg) {
	(void)arg;
	CHECK_EQ(h->nlmsg_flags & NLM_F_MULTI, NLM_F_MULTI);
	CHECK_EQ(h->nlmsg_type, RTM_NEWRULE);
	CHECK(h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct fib_rule_hdr)));
	struct fib_rule_hdr *f = NLMSG_DATA(h);
	CHECK_EQ(f->action, FR_ACT_TO_TBL);
	CHECK_EQ(f->dst_len, 0);
	CHECK_EQ(f->src_len, 0);
	CHECK_EQ(f->tos, 0);
	CHECK_EQ(f->flags, 0);
	unsigned table = rta_u32(h, sizeof *f, FRA_TABLE);
	CHECK_EQ(f->table, table);
	CHECK_EQ(rta_u32(h, sizeof *f, FRA_SUPPRESS_PREFIXLEN), 0xffffffffu);
	struct rtattr *p = rta_get(h, sizeof *f, FRA_PROTOCOL);
	CHECK(p != NULL);
	CHECK_EQ(*(unsigned char *)RTA_DATA(p), RTPROT_KERNEL);
	struct rtattr *prio = rta_get(h, sizeof *f, FRA_PRIORITY);
	if (prio)
		CHECK(*(unsigned *)RTA_DATA(prio) != 0);
	CHECK(nrules < 16);
	rules[nrules++] = (struct rule){f->family, table, prio ? (int)*(unsigned *)RTA_DATA(prio) : 0};
}

// collect gathers the rules of the replies to request seq.
static int collect(int fd, unsigned seq) {
	nrules = 0;
	return nl_collect(fd, seq, on_rule, NULL);
}

static int dump(int fd, unsigned seq, int family) {
	struct fib_rule_hdr f = {.family = family};
	nl_dump(fd, RTM_GETRULE, seq, &f, sizeof f);
	return collect(fd, seq);
}

static void expect(int family, int n, const struct rule *want) {
	int got = 0;
	for (int i = 0; i < nrules; i++) {
		if (rules[i].family != family)
			continue;
		CHECK(got < n);
		CHECK_EQ(rules[i].prio, want[got].prio);
		CHECK_EQ(rules[i].table, want[got].table);
		got++;
	}
	CHECK_EQ(got, n);
}

static const struct rule v4[] = {{AF_INET, RT_TABLE_LOCAL, 0}, {AF_INET, RT_TABLE_MAIN, 32766}, {AF_INET, RT_TABLE_DEFAULT, 32767}};
static const struct rule v6[] = {{AF_INET6, RT_TABLE_LOCAL, 0}, {AF_INET6, RT_TABLE_MAIN, 32766}};

int main(void) {
	CHECK_OK(unshare(CLONE_NEWNET));
	int fd = nl_open();
	CHECK_EQ(dump(fd, 1, AF_INET), 0);
	CHECK_EQ(nrules, 3);
	expect(AF_INET, 3, v4);
	CHECK_EQ(dump(fd, 2, AF_INET6), 0);
	CHECK_EQ(nrules, 2);
	expect(AF_INET6, 2, v6);
	CHECK_EQ(dump(fd, 3, AF_UNSPEC), 0);
	expect(AF_INET, 3, v4);
	expect(AF_INET6, 2, v6);
	for (int i = 0; i < nrules; i++)
		CHECK(rules[i].family == AF_INET || rules[i].family == AF_INET6 ||
		      rules[i].family == RTNL_FAMILY_IPMR || rules[i].family == RTNL_FAMILY_IP6MR);

	CHECK_EQ(dump(fd, 4, AF_PACKET), -EAFNOSUPPORT);
	CHECK_EQ(nrules, 0);
	struct fib_rule_hdr f = {.family = AF_INET};
	nl_send(fd, RTM_GETRULE, NLM_F_REQUEST, 5, &f, sizeof f);
	CHECK_EQ(collect(fd, 5), -EOPNOTSUPP);

	int one = 1;
	// Lenient requests may be a bare rtgenmsg and ignore the rest.
	f.table = RT_TABLE_MAIN;
	nl_dump(fd, RTM_GETRULE, 9, &f, 1);
	CHECK_EQ(collect(fd, 9), 0);
	CHECK_EQ(nrules, 3);
	nl_dump(fd, RTM_GETRULE, 10, &f, sizeof f);
	CHECK_EQ(collect(fd, 10), 0);
	CHECK_EQ(nrules, 3);
	f.table = 0;
	CHECK_OK(setsockopt(fd, SOL_NETLINK, NETLINK_GET_STRICT_CHK, &one, sizeof one));
	CHECK_EQ(dump(fd, 6, AF_INET), 0);
	CHECK_EQ(nrules, 3);
	f.table = RT_TABLE_MAIN;
	nl_dump(fd, RTM_GETRULE, 7, &f, sizeof f);
	CHECK_EQ(collect(fd, 7), -EINVAL);
	// A bare rtgenmsg is too short for a strict request.
	nl_dump(fd, RTM_GETRULE, 8, &f, 1);
	CHECK_EQ(collect(fd, 8), -EINVAL);
	close(fd);
	return 0;
}
