// ns_siocsifflags_notify: a change of an interface's flags by
// ioctl(SIOCSIFFLAGS) is announced to rtnetlink listeners, as Linux's
// __dev_notify_flags calls rtmsg_ifinfo: a NETLINK_ROUTE socket bound to
// RTMGRP_LINK receives RTM_NEWLINK for the interface, with sequence
// number 0 and port ID 0 (the kernel's, as no netlink request caused
// it), carrying the new flags: IFF_UP after `ifconfig lo up`, not after
// `ifconfig lo down`. A socket in no group receives nothing; a request
// that changes nothing is not announced. Runs in a new network namespace
// (lo starts down there); needs CAP_NET_ADMIN and CAP_SYS_ADMIN.
//
//go:build ignore

#include "ns_check.h"

// next_link waits up to ms for a message on fd and returns the flags of
// the RTM_NEWLINK it holds for ifindex, after checking its header; -1
// when none came. Messages about other interfaces are skipped.
static long next_link(int fd, int ifindex, int ms) {
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int r = poll(&p, 1, ms);
		CHECK(r >= 0);
		if (r == 0)
			return -1;
		static char buf[65536];
		ssize_t n = recv(fd, buf, sizeof buf, 0);
		CHECK(n > 0);
		long found = -1;
		for (struct nlmsghdr *h = (void *)buf; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
			CHECK_EQ(h->nlmsg_type, RTM_NEWLINK);
			CHECK_EQ(h->nlmsg_seq, 0);
			CHECK_EQ(h->nlmsg_pid, 0);
			struct ifinfomsg *ifi = NLMSG_DATA(h);
			if (ifi->ifi_index == ifindex)
				found = (long)(unsigned)ifi->ifi_flags;
		}
		if (found >= 0)
			return found;
	}
}

static int open_group(unsigned groups) {
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	CHECK(fd >= 0);
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK, .nl_groups = groups};
	CHECK_OK(bind(fd, (struct sockaddr *)&sa, sizeof sa));
	return fd;
}

static void run(void) {
	CHECK_OK(unshare(CLONE_NEWNET));
	int lo = if_nametoindex("lo");
	CHECK(lo > 0);
	int listener = open_group(RTMGRP_LINK);
	int deaf = open_group(0);
	short flags = lo_flags();
	CHECK(!(flags & IFF_UP));

	set_lo_flags(flags | IFF_UP);
	long got = next_link(listener, lo, 2000);
	CHECK(got >= 0);
	CHECK(got & IFF_UP);
	// Further announcements of the same change (the carrier coming up)
	// may follow on Linux; they carry IFF_UP as well.
	while ((got = next_link(listener, lo, 100)) >= 0)
		CHECK(got & IFF_UP);

	// Writing back the flags unchanged announces nothing.
	set_lo_flags(lo_flags());
	CHECK_EQ(next_link(listener, lo, 100), -1);

	set_lo_flags(lo_flags() & ~IFF_UP);
	got = next_link(listener, lo, 2000);
	CHECK(got >= 0);
	CHECK(!(got & IFF_UP));
	while ((got = next_link(listener, lo, 100)) >= 0)
		CHECK(!(got & IFF_UP));

	CHECK_EQ(next_link(deaf, lo, 0), -1);
}

int main(void) {
	if (!has_cap(CAP_SYS_ADMIN) || !has_cap(CAP_NET_ADMIN))
		return 0;
	run_in_child(run, 10);
	return 0;
}
