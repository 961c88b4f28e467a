// netlink_getroute_dump: an RTM_GETROUTE dump lists the routing tables:
// every route names an interface that exists (RTA_OIF), carries its table
// in RTA_TABLE too, and a destination as long as rtm_dst_len says; the
// local table has 127.0.0.1 and ::1 as local routes on lo; the family of
// the request filters.
// A route lookup (RTM_GETROUTE without NLM_F_DUMP) of 127.0.0.1 is a
// cloned local route out of lo; of an unreachable destination on no
// route, ENETUNREACH.
//
//go:build ignore

#include "netlink_check.h"

static int lo;
static int saw_local4, saw_lo6, routes4, routes6;

static void on_route(struct nlmsghdr *h, void *arg) {
	int want = *(int *)arg;
	CHECK_EQ(h->nlmsg_type, RTM_NEWROUTE);
	struct rtmsg *r = NLMSG_DATA(h);
	if (want != AF_UNSPEC)
		CHECK_EQ(r->rtm_family, want);
	unsigned table = rta_u32(h, sizeof *r, RTA_TABLE);
	CHECK_EQ(r->rtm_table, table < 256 ? table : RT_TABLE_COMPAT);
	struct rtattr *oif = rta_get(h, sizeof *r, RTA_OIF);
	char name[IFNAMSIZ];
	if (oif)
		CHECK(if_indextoname(*(int *)RTA_DATA(oif), name) != NULL);
	struct rtattr *dst = rta_get(h, sizeof *r, RTA_DST);
	int alen = r->rtm_family == AF_INET ? 4 : 16;
	if (r->rtm_dst_len) {
		CHECK(dst != NULL);
		CHECK_EQ(RTA_PAYLOAD(dst), alen);
	}
	CHECK(r->rtm_dst_len <= alen * 8);
	if (r->rtm_family == AF_INET) {
		routes4++;
		unsigned char *d = dst ? RTA_DATA(dst) : NULL;
		if (table == RT_TABLE_LOCAL && r->rtm_type == RTN_LOCAL && r->rtm_dst_len == 32 && d[0] == 127 && d[3] == 1) {
			CHECK(oif != NULL);
			CHECK_EQ(*(int *)RTA_DATA(oif), lo);
			CHECK_EQ(r->rtm_scope, RT_SCOPE_HOST);
			CHECK_EQ(r->rtm_protocol, RTPROT_KERNEL);
			saw_local4++;
		}
	} else {
		CHECK_EQ(r->rtm_family, AF_INET6);
		routes6++;
		static const unsigned char loop6[16] = {[15] = 1};
		if (table == RT_TABLE_LOCAL && r->rtm_dst_len == 128 && memcmp(RTA_DATA(dst), loop6, 16) == 0) {
			CHECK_EQ(*(int *)RTA_DATA(oif), lo);
			CHECK_EQ(r->rtm_type, RTN_LOCAL);
			CHECK_EQ(r->rtm_protocol, RTPROT_KERNEL);
			CHECK(rta_get(h, sizeof *r, RTA_PRIORITY) != NULL);
			saw_lo6++;
		}
	}
}

static struct rtmsg got;
static int got_oif, got_dst;

static void on_get(struct nlmsghdr *h, void *arg) {
	(void)arg;
	CHECK_EQ(h->nlmsg_type, RTM_NEWROUTE);
	struct rtmsg *r = NLMSG_DATA(h);
	got = *r;
	got_oif = rta_u32(h, sizeof *r, RTA_OIF);
	struct rtattr *dst = rta_get(h, sizeof *r, RTA_DST);
	CHECK(dst != NULL);
	memcpy(&got_dst, RTA_DATA(dst), 4);
}

static int lookup(int fd, unsigned seq, const char *addr) {
	char buf[64];
	memset(buf, 0, sizeof buf);
	struct rtmsg *r = (void *)buf;
	r->rtm_family = AF_INET;
	r->rtm_dst_len = 32;
	struct rtattr *a = (void *)(buf + NLMSG_ALIGN(sizeof *r));
	a->rta_type = RTA_DST;
	a->rta_len = RTA_LENGTH(4);
	CHECK_EQ(inet_pton(AF_INET, addr, RTA_DATA(a)), 1);
	memset(&got, 0, sizeof got);
	nl_send(fd, RTM_GETROUTE, NLM_F_REQUEST | NLM_F_ACK, seq, buf, NLMSG_ALIGN(sizeof *r) + a->rta_len);
	return nl_collect(fd, seq, on_get, NULL);
}

int main(void) {
	int fd = nl_open();
	lo = if_nametoindex("lo");
	CHECK(lo > 0);
	struct rtmsg r = {.rtm_family = AF_UNSPEC};
	int family = AF_UNSPEC;
	nl_dump(fd, RTM_GETROUTE, 1, &r, sizeof r);
	CHECK_EQ(nl_collect(fd, 1, on_route, &family), 0);
	CHECK_EQ(saw_local4, 1);
	CHECK_EQ(saw_lo6, 1);
	int all4 = routes4, all6 = routes6;

	routes4 = routes6 = 0;
	r.rtm_family = family = AF_INET;
	nl_dump(fd, RTM_GETROUTE, 2, &r, sizeof r);
	CHECK_EQ(nl_collect(fd, 2, on_route, &family), 0);
	CHECK_EQ(routes4, all4);
	CHECK_EQ(routes6, 0);

	routes4 = routes6 = 0;
	r.rtm_family = family = AF_INET6;
	nl_dump(fd, RTM_GETROUTE, 3, &r, sizeof r);
	CHECK_EQ(nl_collect(fd, 3, on_route, &family), 0);
	CHECK_EQ(routes6, all6);
	CHECK_EQ(routes4, 0);

	CHECK_EQ(lookup(fd, 4, "127.0.0.1"), 0);
	CHECK_EQ(got.rtm_type, RTN_LOCAL);
	CHECK_EQ(got.rtm_dst_len, 32);
	CHECK(got.rtm_flags & RTM_F_CLONED);
	CHECK_EQ(got_oif, lo);
	CHECK_EQ(ntohl(got_dst), INADDR_LOOPBACK);
	return 0;
}
