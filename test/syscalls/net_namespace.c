// net_namespace: unshare(CLONE_NEWNET) and clone(CLONE_NEWNET) give a
// process a new network namespace whose only interface is a loopback "lo"
// (index 1) that is down: 127.0.0.1 is unreachable (ENETUNREACH) until lo
// is brought up through rtnetlink. Its sockets never reach the parent
// namespace's listeners (connecting to their port is ECONNREFUSED), a
// port the parent listens on is free there, and connections inside it
// work. /proc/self/ns/net names another namespace, /proc/net/dev lists
// its lo alone and /proc/net/arp no neighbour. Without
// CAP_SYS_ADMIN, unshare is EPERM.
//
//go:build ignore

#include "inet_check.h"
#include "netlink_check.h"
#include "task_check.h"
#include <linux/capability.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

static int parent_port;
static ino_t parent_ns;

static ino_t ns_ino(void) {
	struct stat st;
	CHECK_OK(stat("/proc/self/ns/net", &st));
	return st.st_ino;
}

static short lo_flags(void) {
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	CHECK(s >= 0);
	struct ifreq ifr = {0};
	strcpy(ifr.ifr_name, "lo");
	CHECK_OK(ioctl(s, SIOCGIFFLAGS, &ifr));
	close(s);
	return ifr.ifr_flags;
}

// set_lo_up brings lo up with RTM_NEWLINK, as `ip link set lo up` does.
static void set_lo_up(void) {
	int fd = nl_open();
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_index = 1, .ifi_flags = IFF_UP, .ifi_change = IFF_UP};
	nl_send(fd, RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, 1, &ifi, sizeof ifi);
	CHECK_EQ(nl_collect(fd, 1, NULL, NULL), 0);
	close(fd);
}

static int connect_lo(int port) {
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(s >= 0);
	struct sockaddr_in a = lo4(port);
	int r = connect(s, (struct sockaddr *)&a, sizeof a);
	int e = errno;
	close(s);
	return r == 0 ? 0 : e;
}

static int in_new_namespace(void *arg) {
	(void)arg;
	CHECK(ns_ino() != parent_ns);
	struct if_nameindex *ifs = if_nameindex();
	CHECK(ifs != NULL);
	CHECK(ifs[0].if_name != NULL && ifs[1].if_name == NULL);
	CHECK(strcmp(ifs[0].if_name, "lo") == 0);
	CHECK_EQ(ifs[0].if_index, 1);
	if_freenameindex(ifs);
	// /proc/net is the reader's namespace's.
	static char dev[8192];
	CHECK(read_text("/proc/net/dev", dev, sizeof dev) > 0);
	int ifaces = 0;
	for (char *p = strchr(dev, ':'); p; p = strchr(p + 1, ':'))
		ifaces++;
	CHECK_EQ(ifaces, 1);
	CHECK(strstr(dev, " lo:") != NULL);
	// lo does no ARP: the ARP table is its header alone.
	static char arp[1024];
	read_text("/proc/net/arp", arp, sizeof arp);
	if (strcmp(arp, "IP address       HW type     Flags       HW address            Mask     Device\n") != 0)
		FAIL("/proc/net/arp = \"%s\"", arp);
	short f = lo_flags();
	CHECK(f & IFF_LOOPBACK);
	CHECK(!(f & IFF_UP));
	CHECK_EQ(connect_lo(parent_port), ENETUNREACH);

	set_lo_up();
	CHECK(lo_flags() & IFF_UP);
	CHECK_EQ(connect_lo(parent_port), ECONNREFUSED);

	// The parent's port is free here; connections inside work.
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(l >= 0);
	struct sockaddr_in a = lo4(parent_port);
	CHECK_OK(bind(l, (struct sockaddr *)&a, sizeof a));
	CHECK_OK(listen(l, 4));
	int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(c >= 0);
	CHECK_OK(connect(c, (struct sockaddr *)&a, sizeof a));
	int s = accept(l, NULL, NULL);
	CHECK(s >= 0);
	CHECK_EQ(write(c, "x", 1), 1);
	char ch;
	CHECK_EQ(read(s, &ch, 1), 1);
	CHECK_EQ(ch, 'x');
	close(s);
	close(c);
	close(l);
	return 0;
}

int main(void) {
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2];
	CHECK_OK(syscall(SYS_capget, &h, d));
	if (!((d[0].effective >> CAP_SYS_ADMIN) & 1)) {
		CHECK_ERR(unshare(CLONE_NEWNET), EPERM);
		return 0;
	}
	int l = listener(AF_INET, 4);
	parent_port = port_of(l);
	parent_ns = ns_ino();

	fflush(NULL);
	pid_t pid = XFORK();
	if (pid == 0) {
		CHECK_OK(unshare(CLONE_NEWNET));
		_exit(in_new_namespace(NULL));
	}
	WAIT_EXIT(pid, 0);

	static char stack[64 * 1024];
	fflush(NULL);
	pid = clone(in_new_namespace, stack + sizeof stack, CLONE_NEWNET | SIGCHLD, NULL);
	CHECK(pid > 0);
	WAIT_EXIT(pid, 0);

	// Nothing reached our listener, which still works here.
	CHECK_EQ(ns_ino(), parent_ns);
	struct pollfd p = {.fd = l, .events = POLLIN};
	CHECK_EQ(poll(&p, 1, 0), 0);
	CHECK_EQ(connect_lo(parent_port), 0);
	int s = accept(l, NULL, NULL);
	CHECK(s >= 0);
	close(s);
	close(l);
	return 0;
}
