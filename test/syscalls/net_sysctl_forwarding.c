// net_sysctl_forwarding: net.ipv4.conf.*.forwarding and
// net.ipv6.conf.*.forwarding in a fresh namespace, which has conf/all,
// conf/default and conf/lo for both. Any int is taken. IPv4's all is
// net.ipv4.ip_forward under another name, and a write that changes it
// goes to default and every interface, while a write of the value it
// has changes nothing (devinet_sysctl_forward). IPv6's all goes to
// default and every interface at every write (addrconf_fixup_forwarding).
// Writing default changes no interface. A fresh namespace's IPv4 values
// are the host's natively (devconf_inherit_init_net), so the test sets
// them first.
//
//go:build ignore

#include "inet_check.h"
#include "net_sysctl_check.h"
#include <sys/stat.h>

#define FWD "net/ipv4/ip_forward"
#define ALL4 "net/ipv4/conf/all/forwarding"
#define DFLT4 "net/ipv4/conf/default/forwarding"
#define LO4 "net/ipv4/conf/lo/forwarding"
#define ALL6 "net/ipv6/conf/all/forwarding"
#define DFLT6 "net/ipv6/conf/default/forwarding"
#define LO6 "net/ipv6/conf/lo/forwarding"

static const struct sysctl_step ipv4_steps[] = {
    {FWD, "0", 0, "0"},
    {ALL4, NULL, 0, "0"},
    {DFLT4, NULL, 0, "0"},
    {LO4, NULL, 0, "0"},
    // A change of ip_forward is all's, and goes everywhere.
    {FWD, "5", 0, "5"},
    {ALL4, NULL, 0, "5"},
    {DFLT4, NULL, 0, "5"},
    {LO4, NULL, 0, "5"},
    // An interface of its own.
    {LO4, "0", 0, "0"},
    {FWD, NULL, 0, "5"},
    // The same value again changes nothing.
    {FWD, "5", 0, "5"},
    {LO4, NULL, 0, "0"},
    {ALL4, "5", 0, "5"},
    {LO4, NULL, 0, "0"},
    // all is ip_forward.
    {ALL4, "7", 0, "7"},
    {FWD, NULL, 0, "7"},
    {DFLT4, NULL, 0, "7"},
    {LO4, NULL, 0, "7"},
    // default changes no interface, nor all.
    {DFLT4, "-2", 0, "-2"},
    {ALL4, NULL, 0, "7"},
    {LO4, NULL, 0, "7"},
    // Any int, as proc_dointvec takes it.
    {LO4, " 4\n", 0, "4"},
    {LO4, "-2147483648", 0, "-2147483648"},
    {LO4, "2147483648", EINVAL, "-2147483648"},
    {LO4, "x", EINVAL, "-2147483648"},
    {ALL4, "yes", EINVAL, "7"},
    {FWD, "0", 0, "0"},
    {LO4, NULL, 0, "0"},
    {DFLT4, NULL, 0, "0"},
};

static const struct sysctl_step ipv6_steps[] = {
    {ALL6, NULL, 0, "0"},
    {DFLT6, NULL, 0, "0"},
    {LO6, NULL, 0, "0"},
    {ALL6, "3", 0, "3"},
    {DFLT6, NULL, 0, "3"},
    {LO6, NULL, 0, "3"},
    {LO6, "0", 0, "0"},
    {ALL6, NULL, 0, "3"},
    // Unlike IPv4's, the same value again goes everywhere.
    {ALL6, "3", 0, "3"},
    {LO6, NULL, 0, "3"},
    {DFLT6, "-1", 0, "-1"},
    {ALL6, NULL, 0, "3"},
    {LO6, NULL, 0, "3"},
    {LO6, "9999999999", EINVAL, "3"},
    {DFLT6, "x", EINVAL, "-1"},
    {ALL6, "0", 0, "0"},
    {DFLT6, NULL, 0, "0"},
    {LO6, NULL, 0, "0"},
};

int main(void) {
	enter_netns();
	struct stat st;
	CHECK_OK(stat("/proc/sys/net/ipv4/conf/all", &st));
	CHECK(S_ISDIR(st.st_mode));
	CHECK_OK(stat("/proc/sys/net/ipv4/conf/lo/forwarding", &st));
	CHECK(S_ISREG(st.st_mode));
	CHECK_EQ(st.st_mode & 0777, 0644);
	CHECK_ERR(stat("/proc/sys/net/ipv4/conf/nosuch0/forwarding", &st), ENOENT);
	CHECK_OK(stat("/proc/sys/net/ipv6/conf/default/forwarding", &st));
	CHECK(S_ISREG(st.st_mode));
	RUN_STEPS(ipv4_steps);
	// IPv6's forwarding is its own.
	SYSCTL_SET(FWD, "1");
	RUN_STEPS(ipv6_steps);
	SYSCTL_IS(FWD, "1");
	SYSCTL_IS(LO4, "1");
	SYSCTL_SET(ALL6, "1");
	SYSCTL_IS(FWD, "1");
	SYSCTL_SET(FWD, "0");
	SYSCTL_IS(LO6, "1");
	// A datagram over lo still arrives with every interface a router.
	lo_up();
	lo_datagram_arrives(AF_INET6);
	puts("ok");
	return 0;
}
