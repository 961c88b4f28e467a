// netlink_getqdisc_dump: an RTM_GETQDISC dump (tc qdisc show) lists, in
// RTM_NEWQDISC messages with NLM_F_MULTI, the root qdisc of lo, which is
// up: noqueue, handle 0, parent TC_H_ROOT, with its statistics; a dump
// that names lo's index lists it too (Linux does not narrow dumps by
// index: tc filters what it prints).
//
//go:build ignore

#include "netlink_check.h"
#include <linux/gen_stats.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>

static int lo_index, lo_root, others;

static void on_qdisc(struct nlmsghdr *h, void *arg) {
	(void)arg;
	CHECK_EQ(h->nlmsg_type, RTM_NEWQDISC);
	CHECK_EQ(h->nlmsg_flags & NLM_F_MULTI, NLM_F_MULTI);
	struct tcmsg *tc = NLMSG_DATA(h);
	CHECK(tc->tcm_ifindex > 0);
	struct rtattr *kind = rta_get(h, sizeof *tc, TCA_KIND);
	CHECK(kind != NULL);
	CHECK_EQ(((char *)RTA_DATA(kind))[RTA_PAYLOAD(kind) - 1], 0);
	if (tc->tcm_ifindex != lo_index) {
		others++;
		return;
	}
	if (tc->tcm_parent != TC_H_ROOT)
		return;
	lo_root++;
	if (strcmp(RTA_DATA(kind), "noqueue") != 0)
		FAIL("lo's root qdisc is %s, want noqueue", (char *)RTA_DATA(kind));
	CHECK_EQ(tc->tcm_handle, 0);
	CHECK(tc->tcm_info >= 1); // its reference count
	struct rtattr *stats = rta_get(h, sizeof *tc, TCA_STATS2);
	CHECK(stats != NULL);
	CHECK(rta_get(h, sizeof *tc, TCA_STATS) != NULL);
}

int main(void) {
	lo_index = if_nametoindex("lo");
	CHECK(lo_index > 0);
	int fd = nl_open();
	struct tcmsg req = {.tcm_family = AF_UNSPEC};
	nl_dump(fd, RTM_GETQDISC, 1, &req, sizeof req);
	CHECK_EQ(nl_collect(fd, 1, on_qdisc, NULL), 0);
	CHECK_EQ(lo_root, 1);

	lo_root = 0;
	req.tcm_ifindex = lo_index;
	nl_dump(fd, RTM_GETQDISC, 2, &req, sizeof req);
	CHECK_EQ(nl_collect(fd, 2, on_qdisc, NULL), 0);
	CHECK_EQ(lo_root, 1);
	close(fd);
	return 0;
}
