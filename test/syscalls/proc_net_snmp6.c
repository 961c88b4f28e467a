// proc_net_snmp6: /proc/net/snmp6 lists IPv6's counters, a name and its
// value a line. Ten ICMPv6 echoes over ::1 raise Ip6InReceives,
// Ip6InDelivers and Ip6OutRequests, Icmp6InMsgs, Icmp6InEchos,
// Icmp6OutEchoReplies, Icmp6InEchoReplies and Icmp6InType128 by ten or
// more, and leave IPv4's InReceives in /proc/net/snmp alone; UDP over
// 127.0.0.1 leaves Ip6InReceives alone.
//
//go:build ignore

#include "inet_check.h"
#include "net_sysctl_check.h"
#include <netinet/icmp6.h>

// snmp6 returns the counter called name, -1 if there is none, checking
// the format of every line.
static long long snmp6(const char *name) {
	FILE *f = fopen("/proc/net/snmp6", "r");
	CHECK(f != NULL);
	char line[256];
	long long found = -1;
	while (fgets(line, sizeof line, f)) {
		char n[64];
		unsigned long long v;
		CHECK_EQ(sscanf(line, "%63s %llu", n, &v), 2);
		// "%-32s\t%lu\n": the name padded to 32 columns, a tab.
		CHECK(strlen(line) > 33 && line[strlen(n) > 32 ? strlen(n) : 32] == '\t');
		if (strcmp(n, name) == 0)
			found = v;
	}
	fclose(f);
	return found;
}

// ip4_in_receives returns Ip InReceives of /proc/net/snmp.
static long long ip4_in_receives(void) {
	FILE *f = fopen("/proc/net/snmp", "r");
	CHECK(f != NULL);
	char names[2048], values[2048];
	CHECK(fgets(names, sizeof names, f) != NULL);
	CHECK(fgets(values, sizeof values, f) != NULL);
	fclose(f);
	CHECK(strncmp(names, "Ip: Forwarding DefaultTTL InReceives ", 37) == 0);
	long long v = -1;
	CHECK_EQ(sscanf(values, "Ip: %*d %*d %lld", &v), 1);
	return v;
}

static const char *counted[] = {"Ip6InReceives", "Ip6InDelivers", "Ip6OutRequests", "Icmp6InMsgs", "Icmp6InEchos", "Icmp6OutEchoReplies", "Icmp6InEchoReplies"};
#define NCOUNTED (sizeof counted / sizeof counted[0])

int main(void) {
	enter_netns();
	lo_up();
	long long before[NCOUNTED];
	for (size_t i = 0; i < NCOUNTED; i++) {
		before[i] = snmp6(counted[i]);
		CHECK(before[i] >= 0);
	}
	CHECK(snmp6("Udp6InDatagrams") >= 0);
	CHECK_EQ(snmp6("NoSuchCounter"), -1);
	long long ip4 = ip4_in_receives();

	int s = socket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6);
	CHECK(s >= 0);
	struct sockaddr_in6 lo = lo6(0);
	for (int i = 0; i < 10; i++) {
		struct icmp6_hdr req = {.icmp6_type = ICMP6_ECHO_REQUEST};
		req.icmp6_id = htons(0x5eed);
		req.icmp6_seq = htons(i);
		CHECK_EQ(sendto(s, &req, sizeof req, 0, (struct sockaddr *)&lo, sizeof lo), sizeof req);
		for (;;) {
			CHECK(poll1(s, POLLIN, 5000) & POLLIN);
			struct icmp6_hdr got;
			CHECK(recv(s, &got, sizeof got, 0) >= (ssize_t)sizeof got);
			if (got.icmp6_type == ICMP6_ECHO_REPLY && got.icmp6_seq == htons(i))
				break;
		}
	}
	close(s);
	for (size_t i = 0; i < NCOUNTED; i++) {
		long long now = snmp6(counted[i]);
		if (now < before[i] + 10) {
			printf("%s went from %lld to %lld\n", counted[i], before[i], now);
			FAIL("counter");
		}
	}
	CHECK(snmp6("Icmp6InType128") >= 10);
	CHECK_EQ(ip4_in_receives(), ip4);

	long long ip6 = snmp6("Ip6InReceives");
	lo_datagram_arrives(AF_INET);
	CHECK_EQ(snmp6("Ip6InReceives"), ip6);
	CHECK(ip4_in_receives() > ip4);
	return 0;
}
