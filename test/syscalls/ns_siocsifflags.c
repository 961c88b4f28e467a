// ns_siocsifflags: ioctl(SIOCSIFFLAGS) brings an interface up and down,
// as `ifconfig lo up` and older `ip link set lo up` do. In a new network
// namespace lo starts down; setting IFF_UP through an AF_INET socket
// makes SIOCGIFFLAGS and rtnetlink (RTM_GETLINK) both report it up (and
// running) and 127.0.0.1 reachable; clearing it through an AF_UNIX or
// AF_INET6 socket (any family serves it, dev_ioctl) takes lo down again
// in both views. Writing back the flags unchanged is a no-op;
// the flags Linux ignores (IFF_RUNNING, IFF_LOOPBACK) are ignored. An
// unknown device is ENODEV; on an AF_INET socket an alias name with no
// address labelled so ("lo:7") is EADDRNOTAVAIL, while other families
// strip the alias and act on lo. Without CAP_NET_ADMIN the request is
// EPERM, before the device is looked up; SIOCGIFFLAGS still works. A bad
// argument is EFAULT.
//
//go:build ignore

#include "inet_check.h"
#include "task_check.h"
#include <linux/capability.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>

#include "netlink_check.h"

static short get_flags(int s, const char *name) {
	struct ifreq ifr = {0};
	snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", name);
	CHECK_OK(ioctl(s, SIOCGIFFLAGS, &ifr));
	return ifr.ifr_flags;
}

static int set_flags(int s, const char *name, short flags) {
	struct ifreq ifr = {0};
	snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", name);
	ifr.ifr_flags = flags;
	return ioctl(s, SIOCSIFFLAGS, &ifr);
}

static void link_cb(struct nlmsghdr *h, void *arg) {
	if (h->nlmsg_type != RTM_NEWLINK)
		return;
	struct ifinfomsg *ifi = NLMSG_DATA(h);
	if (ifi->ifi_index == 1)
		*(unsigned *)arg = ifi->ifi_flags;
}

// nl_lo_flags returns lo's flags as RTM_GETLINK dumps them.
static unsigned nl_lo_flags(void) {
	int fd = nl_open();
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
	nl_dump(fd, RTM_GETLINK, 7, &ifi, sizeof ifi);
	unsigned flags = ~0u;
	CHECK_EQ(nl_collect(fd, 7, link_cb, &flags), 0);
	close(fd);
	CHECK(flags != ~0u);
	return flags;
}

static int connect_lo(void) {
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(s >= 0);
	struct sockaddr_in a = lo4(1);
	int r = connect(s, (struct sockaddr *)&a, sizeof a);
	int e = errno;
	close(s);
	return r == 0 ? 0 : e;
}

static void drop_net_admin(void) {
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2];
	CHECK_OK(syscall(SYS_capget, &h, d));
	d[0].effective &= ~(1u << CAP_NET_ADMIN);
	CHECK_OK(syscall(SYS_capset, &h, d));
}

static void in_new_namespace(void) {
	int in4 = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int in6 = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int un = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	CHECK(in4 >= 0 && in6 >= 0 && un >= 0);

	short f = get_flags(in4, "lo");
	CHECK(f & IFF_LOOPBACK);
	CHECK(!(f & IFF_UP));
	CHECK(!(nl_lo_flags() & IFF_UP));
	CHECK_EQ(connect_lo(), ENETUNREACH);
	// Unchanged flags: nothing happens.
	CHECK_OK(set_flags(in4, "lo", f));
	CHECK(!(get_flags(in4, "lo") & IFF_UP));

	// Errors.
	CHECK_ERR(set_flags(in4, "nosuch0", f | IFF_UP), ENODEV);
	CHECK_ERR(set_flags(un, "nosuch0", f | IFF_UP), ENODEV);
	CHECK_ERR(set_flags(in4, "lo:7", f | IFF_UP), EADDRNOTAVAIL);
	CHECK(!(get_flags(in4, "lo") & IFF_UP));
	CHECK_ERR(ioctl(in4, SIOCSIFFLAGS, (void *)8), EFAULT);
	fflush(NULL);
	pid_t pid = XFORK();
	if (pid == 0) {
		drop_net_admin();
		CHECK_ERR(set_flags(in4, "lo", f | IFF_UP), EPERM);
		CHECK_ERR(set_flags(un, "lo", f | IFF_UP), EPERM);
		CHECK_ERR(set_flags(in4, "nosuch0", f | IFF_UP), EPERM);
		CHECK(!(get_flags(in4, "lo") & IFF_UP));
		_exit(0);
	}
	WAIT_EXIT(pid, 0);

	// Up through an AF_INET socket.
	CHECK_OK(set_flags(in4, "lo", f | IFF_UP));
	f = get_flags(in4, "lo");
	CHECK(f & IFF_UP);
	CHECK(f & IFF_RUNNING);
	CHECK_EQ(get_flags(un, "lo"), f);
	CHECK(nl_lo_flags() & IFF_UP);
	CHECK_EQ((short)nl_lo_flags(), f);
	CHECK_EQ(connect_lo(), ECONNREFUSED);
	int c, a;
	tcp_pair(AF_INET, &c, &a);
	close(c);
	close(a);
	// Again, and with the flags Linux ignores cleared: still up.
	CHECK_OK(set_flags(in4, "lo", f));
	CHECK_OK(set_flags(in4, "lo", IFF_UP | (f & IFF_MULTICAST)));
	CHECK_EQ(get_flags(in4, "lo"), f);

	// Down through an AF_UNIX socket, with an alias it strips.
	CHECK_OK(set_flags(un, "lo:7", f & ~IFF_UP));
	CHECK(!(get_flags(in4, "lo") & IFF_UP));
	CHECK(!(nl_lo_flags() & IFF_UP));

	// Up and down through an AF_INET6 socket.
	CHECK_OK(set_flags(in6, "lo", f));
	CHECK(get_flags(in6, "lo") & IFF_UP);
	CHECK_EQ(connect_lo(), ECONNREFUSED);
	CHECK_OK(set_flags(in6, "lo", f & ~IFF_UP));
	CHECK(!(get_flags(in6, "lo") & IFF_UP));
	CHECK(!(nl_lo_flags() & IFF_UP));
	close(in4);
	close(in6);
	close(un);
}

int main(void) {
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2];
	CHECK_OK(syscall(SYS_capget, &h, d));
	if (!((d[0].effective >> CAP_SYS_ADMIN) & 1) || !((d[0].effective >> CAP_NET_ADMIN) & 1))
		return 0; // needs a network namespace of its own to change
	fflush(NULL);
	pid_t pid = XFORK();
	if (pid == 0) {
		alarm(10);
		CHECK_OK(unshare(CLONE_NEWNET));
		in_new_namespace();
		_exit(0);
	}
	WAIT_EXIT(pid, 0);
	return 0;
}
