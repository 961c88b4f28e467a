// ioctl_siocgif: the interface ioctls (netdevice(7)) on lo: SIOCGIFINDEX
// and SIOCGIFNAME are inverses; SIOCGIFFLAGS says up, running, loopback;
// SIOCGIFADDR, SIOCGIFNETMASK give 127.0.0.1 and 255.0.0.0 on an AF_INET
// socket; SIOCGIFHWADDR the loopback device type; SIOCGIFMTU and
// SIOCGIFTXQLEN what /sys/class/net/lo says. An unknown name is ENODEV.
// Sockets of every family answer the device requests (AF_INET6, AF_UNIX
// and AF_NETLINK too, through dev_ioctl); only AF_INET answers the
// address ones, the others ENOTTY. SIOCGIFCONF with no buffer tells the
// length it needs, with a short one fills whole entries only.
//
//go:build ignore

#include "check.h"
#include <arpa/inet.h>
#include <linux/netlink.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

static long sysval(const char *file) {
	char path[128], buf[64] = {0};
	snprintf(path, sizeof path, "/sys/class/net/lo/%s", file);
	FILE *f = fopen(path, "r");
	CHECK(f != NULL);
	CHECK(fgets(buf, sizeof buf, f) != NULL);
	fclose(f);
	return strtol(buf, NULL, 0);
}

static struct ifreq req(const char *name) {
	struct ifreq ifr;
	memset(&ifr, 0, sizeof ifr);
	strcpy(ifr.ifr_name, name);
	return ifr;
}

int main(void) {
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	struct ifreq ifr = req("lo");
	CHECK_OK(ioctl(s, SIOCGIFINDEX, &ifr));
	int index = ifr.ifr_ifindex;
	CHECK_EQ(index, if_nametoindex("lo"));
	CHECK_EQ(index, sysval("ifindex"));
	memset(&ifr, 0, sizeof ifr);
	ifr.ifr_ifindex = index;
	CHECK_OK(ioctl(s, SIOCGIFNAME, &ifr));
	CHECK_EQ(strcmp(ifr.ifr_name, "lo"), 0);

	ifr = req("lo");
	CHECK_OK(ioctl(s, SIOCGIFFLAGS, &ifr));
	CHECK_EQ(ifr.ifr_flags & (IFF_UP | IFF_RUNNING | IFF_LOOPBACK), IFF_UP | IFF_RUNNING | IFF_LOOPBACK);
	short flags = ifr.ifr_flags;
	// /sys's flags are dev->flags: no IFF_RUNNING.
	CHECK_EQ(sysval("flags"), flags & ~IFF_RUNNING);

	ifr = req("lo");
	CHECK_OK(ioctl(s, SIOCGIFADDR, &ifr));
	struct sockaddr_in *sin = (void *)&ifr.ifr_addr;
	CHECK_EQ(sin->sin_family, AF_INET);
	CHECK_EQ(ntohl(sin->sin_addr.s_addr), INADDR_LOOPBACK);
	ifr = req("lo");
	CHECK_OK(ioctl(s, SIOCGIFNETMASK, &ifr));
	CHECK_EQ(ntohl(sin->sin_addr.s_addr), 0xff000000u);

	ifr = req("lo");
	CHECK_OK(ioctl(s, SIOCGIFHWADDR, &ifr));
	CHECK_EQ(ifr.ifr_hwaddr.sa_family, ARPHRD_LOOPBACK);
	CHECK_EQ(ifr.ifr_hwaddr.sa_family, sysval("type"));
	static const char zero[6];
	CHECK_MEM(ifr.ifr_hwaddr.sa_data, zero, 6);

	ifr = req("lo");
	CHECK_OK(ioctl(s, SIOCGIFMTU, &ifr));
	CHECK_EQ(ifr.ifr_mtu, sysval("mtu"));
	ifr = req("lo");
	CHECK_OK(ioctl(s, SIOCGIFTXQLEN, &ifr));
	CHECK_EQ(ifr.ifr_qlen, sysval("tx_queue_len"));

	ifr = req("nosuchif0");
	CHECK_ERR(ioctl(s, SIOCGIFFLAGS, &ifr), ENODEV);
	CHECK_ERR(ioctl(s, SIOCGIFADDR, &ifr), ENODEV);
	memset(&ifr, 0, sizeof ifr);
	ifr.ifr_ifindex = 0x7ffffff0;
	CHECK_ERR(ioctl(s, SIOCGIFNAME, &ifr), ENODEV);
	CHECK_ERR(ioctl(s, SIOCGIFFLAGS, bad_addr()), EFAULT);

	// Other families: the device requests, not the address ones.
	int others[][3] = {{AF_INET6, SOCK_DGRAM, 0}, {AF_UNIX, SOCK_STREAM, 0}, {AF_NETLINK, SOCK_RAW, NETLINK_ROUTE}};
	for (int i = 0; i < 3; i++) {
		int o = socket(others[i][0], others[i][1], others[i][2]);
		CHECK(o >= 0);
		ifr = req("lo");
		CHECK_OK(ioctl(o, SIOCGIFFLAGS, &ifr));
		CHECK_EQ(ifr.ifr_flags, flags);
		ifr = req("lo");
		CHECK_OK(ioctl(o, SIOCGIFINDEX, &ifr));
		CHECK_EQ(ifr.ifr_ifindex, index);
		ifr = req("lo");
		CHECK_ERR(ioctl(o, SIOCGIFADDR, &ifr), ENOTTY);
		CHECK_ERR(ioctl(o, SIOCGIFNETMASK, &ifr), ENOTTY);
		struct ifconf ifc = {0};
		CHECK_OK(ioctl(o, SIOCGIFCONF, &ifc));
		CHECK(ifc.ifc_len >= (int)sizeof(struct ifreq));
		close(o);
	}

	// SIOCGIFCONF: the length needed, then whole entries only.
	struct ifconf ifc = {0};
	CHECK_OK(ioctl(s, SIOCGIFCONF, &ifc));
	int need = ifc.ifc_len;
	CHECK(need >= (int)sizeof(struct ifreq));
	CHECK_EQ(need % sizeof(struct ifreq), 0);
	struct ifreq *reqs = calloc(1, need + sizeof(struct ifreq));
	ifc.ifc_len = sizeof(struct ifreq) + sizeof(struct ifreq) / 2;
	ifc.ifc_req = reqs;
	CHECK_OK(ioctl(s, SIOCGIFCONF, &ifc));
	CHECK_EQ(ifc.ifc_len, sizeof(struct ifreq));
	ifc.ifc_len = need + sizeof(struct ifreq);
	CHECK_OK(ioctl(s, SIOCGIFCONF, &ifc));
	CHECK_EQ(ifc.ifc_len, need);
	int lo = 0;
	for (int i = 0; i < need / (int)sizeof(struct ifreq); i++) {
		sin = (void *)&reqs[i].ifr_addr;
		CHECK_EQ(sin->sin_family, AF_INET);
		if (strcmp(reqs[i].ifr_name, "lo") == 0 && ntohl(sin->sin_addr.s_addr) == INADDR_LOOPBACK)
			lo++;
	}
	CHECK_EQ(lo, 1);
	free(reqs);
	return 0;
}
