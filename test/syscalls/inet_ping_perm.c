// inet_ping_perm: who may open ICMP sockets. An ICMP echo socket
// (SOCK_DGRAM, IPPROTO_ICMP) needs the caller's effective or a
// supplementary group in net.ipv4.ping_group_range, for root too: EACCES
// otherwise. A raw socket needs CAP_NET_RAW: without it in the effective
// set, EPERM (checked after dropping it).
//
//go:build ignore

#include "inet_check.h"
#include <linux/capability.h>
#include <sys/syscall.h>

static int in_range(long low, long high) {
	gid_t groups[256];
	int n = getgroups(256, groups);
	if ((long)getegid() >= low && (long)getegid() <= high)
		return 1;
	for (int i = 0; i < n; i++)
		if ((long)groups[i] >= low && (long)groups[i] <= high)
			return 1;
	return 0;
}

int main(void) {
	FILE *f = fopen("/proc/sys/net/ipv4/ping_group_range", "r");
	CHECK(f != NULL);
	long low, high;
	CHECK_EQ(fscanf(f, "%ld %ld", &low, &high), 2);
	fclose(f);

	int s = socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP);
	if (in_range(low, high)) {
		CHECK(s >= 0);
		close(s);
	} else {
		CHECK(s < 0 && errno == EACCES);
	}

	// Drop CAP_NET_RAW from the effective set: raw sockets are refused.
	struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct data[2];
	CHECK_OK(syscall(SYS_capget, &hdr, data));
	data[CAP_NET_RAW / 32].effective &= ~(1u << (CAP_NET_RAW % 32));
	CHECK_OK(syscall(SYS_capset, &hdr, data));
	CHECK_ERR(socket(AF_INET, SOCK_RAW, IPPROTO_ICMP), EPERM);
	CHECK_ERR(socket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6), EPERM);
	return 0;
}
