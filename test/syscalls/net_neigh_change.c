// net_neigh_change: RTM_NEWNEIGH and RTM_DELNEIGH (`ip neigh add/del`)
// in a fresh network namespace, whose only interface is lo. Requests are
// checked in neigh_add's and neigh_delete's order: no NDA_DST is EINVAL,
// then an unknown ndm_ifindex ENODEV, then a family without a neighbour
// table EAFNOSUPPORT, then an address shorter than the family's EINVAL,
// then no interface at all EINVAL. Changing (no NLM_F_CREATE) or deleting
// an entry nobody made is ENOENT, deleting a proxy entry too. Without
// CAP_NET_ADMIN every change is EPERM.
//
//go:build ignore

#include "net_sysctl_check.h"
#include <linux/neighbour.h>

// ntf are the ndm_flags of the next requests.
static int ntf;

// neigh sends one request and returns its error (0: acknowledged).
static int neigh(int fd, int type, int flags, int family, int ifindex, const void *dst, int dstlen) {
	static unsigned seq = 100;
	char buf[256] = {0};
	struct ndmsg *nd = (void *)buf;
	nd->ndm_family = family;
	nd->ndm_ifindex = ifindex;
	nd->ndm_state = NUD_PERMANENT;
	nd->ndm_flags = ntf;
	size_t len = NLMSG_ALIGN(sizeof *nd);
	if (dst) {
		struct rtattr *a = (void *)(buf + len);
		a->rta_type = NDA_DST;
		a->rta_len = RTA_LENGTH(dstlen);
		memcpy(RTA_DATA(a), dst, dstlen);
		len += RTA_ALIGN(a->rta_len);
	}
	nl_send(fd, type, NLM_F_REQUEST | NLM_F_ACK | flags, ++seq, buf, len);
	return nl_collect(fd, seq, NULL, NULL);
}

int main(void) {
	enter_netns();
	int fd = nl_open();
	unsigned char v4[4] = {127, 0, 0, 2};
	const int create = NLM_F_CREATE | NLM_F_EXCL;
	for (int type = RTM_NEWNEIGH; type <= RTM_DELNEIGH; type++) {
		int flags = type == RTM_NEWNEIGH ? create : 0;
		CHECK_EQ(neigh(fd, type, flags, AF_INET, 1, NULL, 0), -EINVAL);
		CHECK_EQ(neigh(fd, type, flags, AF_INET, 12345, v4, 4), -ENODEV);
		CHECK_EQ(neigh(fd, type, flags, AF_PACKET, 1, v4, 4), -EAFNOSUPPORT);
		CHECK_EQ(neigh(fd, type, flags, AF_INET6, 1, v4, 4), -EINVAL);
		CHECK_EQ(neigh(fd, type, flags, AF_INET, 0, v4, 4), -EINVAL);
	}
	CHECK_EQ(neigh(fd, RTM_NEWNEIGH, NLM_F_REPLACE, AF_INET, 1, v4, 4), -ENOENT);
	CHECK_EQ(neigh(fd, RTM_DELNEIGH, 0, AF_INET, 1, v4, 4), -ENOENT);
	ntf = NTF_PROXY;
	CHECK_EQ(neigh(fd, RTM_DELNEIGH, 0, AF_INET, 1, v4, 4), -ENOENT);
	ntf = 0;
	close(fd);

	pid_t pid = XFORK();
	if (pid == 0) {
		CHECK_OK(setgid(65534));
		CHECK_OK(setuid(65534));
		int fd = nl_open();
		CHECK_EQ(neigh(fd, RTM_NEWNEIGH, create, AF_INET, 1, v4, 4), -EPERM);
		CHECK_EQ(neigh(fd, RTM_DELNEIGH, 0, AF_INET, 1, v4, 4), -EPERM);
		_exit(0);
	}
	WAIT_EXIT(pid, 0);
	return 0;
}
