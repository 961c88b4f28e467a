// proc_net_netlink: /proc/net/netlink lists the namespace's netlink
// sockets in Linux's format: the kernel's socket of NETLINK_ROUTE and of
// NETLINK_SOCK_DIAG with port 0, and a program's socket once bound, with
// its protocol, port ID, first 32 groups and inode; its Rmem is non-zero
// while a reply waits to be read; a closed socket's line is gone, and an
// unbound one has none. /proc/net/packet lists no socket of a fresh
// namespace. Runs in a network namespace of its own.
//
//go:build ignore

#include "inet_check.h"
#include "net_sysctl_check.h"

static char text[1 << 16];

static const char *header = "sk               Eth Pid        Groups   Rmem     Wmem     Dump  Locks    Drops    Inode\n";

struct line {
	int eth;
	unsigned pid, groups;
	long rmem;
};

// find reads /proc/net/netlink, checks its header and the format of its
// lines, and fills l from the line of the socket with the given inode
// (any inode if 0, then matching eth and pid instead): 0 if none.
static int find(unsigned long inode, int eth, unsigned pid, struct line *l) {
	CHECK(read_text("/proc/net/netlink", text, sizeof text) > 0);
	CHECK_EQ(strncmp(text, header, strlen(header)), 0);
	char *save, *line = strtok_r(text + strlen(header), "\n", &save);
	int found = 0;
	for (; line; line = strtok_r(NULL, "\n", &save)) {
		struct line x;
		char sk[32];
		int wmem, dump, locks;
		unsigned drops;
		unsigned long in;
		if (sscanf(line, "%31s %d %u %x %ld %d %d %d %u %lu", sk, &x.eth, &x.pid, &x.groups, &x.rmem, &wmem, &dump, &locks, &drops, &in) != 10)
			FAIL("bad line: %s", line);
		CHECK_EQ(strlen(sk), 16);
		int match = inode ? in == inode : (x.eth == eth && x.pid == pid);
		if (match) {
			found = 1;
			*l = x;
		}
	}
	return found;
}

static unsigned long ino(int fd) {
	struct stat st;
	CHECK_OK(fstat(fd, &st));
	return st.st_ino;
}

int main(void) {
	enter_netns();
	struct line l;
	CHECK(find(0, NETLINK_ROUTE, 0, &l));
	CHECK(find(0, NETLINK_SOCK_DIAG, 0, &l));

	int s = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
	CHECK(s >= 0);
	CHECK(!find(ino(s), 0, 0, &l));
	struct sockaddr_nl a = {.nl_family = AF_NETLINK, .nl_groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR};
	CHECK_OK(bind(s, (struct sockaddr *)&a, sizeof a));
	socklen_t len = sizeof a;
	CHECK_OK(getsockname(s, (struct sockaddr *)&a, &len));
	CHECK(find(ino(s), 0, 0, &l));
	CHECK_EQ(l.eth, NETLINK_ROUTE);
	CHECK_EQ(l.pid, a.nl_pid);
	CHECK_EQ(l.groups, (unsigned)(RTMGRP_LINK | RTMGRP_IPV4_IFADDR));
	CHECK_EQ(l.rmem, 0);

	// A dump's reply waits to be read.
	struct rtgenmsg g = {.rtgen_family = AF_UNSPEC};
	nl_send(s, RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, 1, &g, sizeof g);
	CHECK(poll1(s, POLLIN, 5000) & POLLIN);
	CHECK(find(ino(s), 0, 0, &l));
	CHECK(l.rmem > 0);

	int d = socket(AF_NETLINK, SOCK_DGRAM, NETLINK_SOCK_DIAG);
	CHECK(d >= 0);
	struct sockaddr_nl b = {.nl_family = AF_NETLINK};
	CHECK_OK(bind(d, (struct sockaddr *)&b, sizeof b));
	CHECK(find(ino(d), 0, 0, &l));
	CHECK_EQ(l.eth, NETLINK_SOCK_DIAG);
	CHECK(l.pid != 0);

	unsigned long gone = ino(s);
	CHECK_OK(close(s));
	CHECK(!find(gone, 0, 0, &l));

	CHECK(read_text("/proc/net/packet", text, sizeof text) > 0);
	CHECK_EQ(strcmp(text, "sk               RefCnt Type Proto  Iface R Rmem   User   Inode\n"), 0);
	return 0;
}
