// getifaddrs_consistency: the views of the interfaces agree: glibc's
// getifaddrs (rtnetlink), if_nameindex, SIOCGIFCONF and SIOCGIFINDEX,
// /sys/class/net and /proc/net/dev name the same interfaces with the same
// indexes; lo is there with 127.0.0.1/8 and ::1, a loopback that is up.
//
//go:build ignore

#include "check.h"
#include <arpa/inet.h>
#include <dirent.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#define MAXIF 64

static char names[MAXIF][IFNAMSIZ];
static int nnames;

static int known(const char *name) {
	for (int i = 0; i < nnames; i++)
		if (strcmp(names[i], name) == 0)
			return 1;
	return 0;
}

int main(void) {
	// if_nameindex: the reference list.
	struct if_nameindex *ni = if_nameindex();
	CHECK(ni != NULL);
	for (struct if_nameindex *p = ni; p->if_index; p++) {
		CHECK(nnames < MAXIF);
		CHECK(!known(p->if_name));
		strcpy(names[nnames++], p->if_name);
		CHECK_EQ(if_nametoindex(p->if_name), p->if_index);
	}
	CHECK(known("lo"));

	// getifaddrs: every interface has its AF_PACKET entry, whose flags
	// SIOCGIFFLAGS agrees with; lo has 127.0.0.1/8 and ::1.
	struct ifaddrs *ifa;
	CHECK_OK(getifaddrs(&ifa));
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	int packets = 0, lo4 = 0, lo6 = 0;
	for (struct ifaddrs *p = ifa; p; p = p->ifa_next) {
		CHECK(known(p->ifa_name));
		struct ifreq ifr = {0};
		strcpy(ifr.ifr_name, p->ifa_name);
		CHECK_OK(ioctl(s, SIOCGIFFLAGS, &ifr));
		CHECK_EQ(ifr.ifr_flags & 0xffff, p->ifa_flags & 0xffff);
		if (!p->ifa_addr)
			continue;
		if (p->ifa_addr->sa_family == AF_PACKET) {
			packets++;
			CHECK(p->ifa_data != NULL); // struct rtnl_link_stats
		}
		if (strcmp(p->ifa_name, "lo") == 0) {
			CHECK(p->ifa_flags & IFF_LOOPBACK);
			CHECK(p->ifa_flags & IFF_UP);
			if (p->ifa_addr->sa_family == AF_INET) {
				struct sockaddr_in *a = (void *)p->ifa_addr, *m = (void *)p->ifa_netmask;
				if (ntohl(a->sin_addr.s_addr) == INADDR_LOOPBACK) {
					CHECK_EQ(ntohl(m->sin_addr.s_addr), 0xff000000u);
					lo4++;
				}
			}
			if (p->ifa_addr->sa_family == AF_INET6) {
				struct sockaddr_in6 *a = (void *)p->ifa_addr;
				if (IN6_IS_ADDR_LOOPBACK(&a->sin6_addr))
					lo6++;
			}
		}
	}
	CHECK_EQ(packets, nnames);
	CHECK_EQ(lo4, 1);
	CHECK_EQ(lo6, 1);

	// SIOCGIFCONF: the IPv4 addresses getifaddrs lists, in names it
	// knows.
	struct ifreq reqs[MAXIF * 4];
	struct ifconf ifc = {.ifc_len = sizeof reqs, .ifc_req = reqs};
	CHECK_OK(ioctl(s, SIOCGIFCONF, &ifc));
	int n4 = 0;
	for (struct ifaddrs *p = ifa; p; p = p->ifa_next)
		if (p->ifa_addr && p->ifa_addr->sa_family == AF_INET)
			n4++;
	CHECK_EQ(ifc.ifc_len / (int)sizeof(struct ifreq), n4);
	for (int i = 0; i < n4; i++) {
		char base[IFNAMSIZ];
		strcpy(base, reqs[i].ifr_name);
		char *colon = strchr(base, ':');
		if (colon)
			*colon = 0;
		CHECK(known(base));
		struct ifreq ifr = {0};
		strcpy(ifr.ifr_name, base);
		CHECK_OK(ioctl(s, SIOCGIFINDEX, &ifr));
		CHECK_EQ(ifr.ifr_ifindex, if_nametoindex(base));
	}
	freeifaddrs(ifa);

	// /sys/class/net: the same names, each with its ifindex.
	DIR *d = opendir("/sys/class/net");
	CHECK(d != NULL);
	int nsys = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		CHECK(known(e->d_name));
		nsys++;
		char path[300], val[32] = {0};
		snprintf(path, sizeof path, "/sys/class/net/%s/ifindex", e->d_name);
		FILE *f = fopen(path, "r");
		CHECK(f != NULL);
		CHECK(fgets(val, sizeof val, f) != NULL);
		fclose(f);
		CHECK_EQ(atoi(val), if_nametoindex(e->d_name));
	}
	closedir(d);
	CHECK_EQ(nsys, nnames);

	// /proc/net/dev: one line per interface after the two headers.
	FILE *f = fopen("/proc/net/dev", "r");
	CHECK(f != NULL);
	char line[512];
	int ndev = 0;
	for (int i = 0; fgets(line, sizeof line, f); i++) {
		if (i < 2)
			continue;
		char *colon = strchr(line, ':');
		CHECK(colon != NULL);
		*colon = 0;
		char *name = line;
		while (*name == ' ')
			name++;
		CHECK(known(name));
		ndev++;
	}
	fclose(f);
	CHECK_EQ(ndev, nnames);
	if_freenameindex(ni);
	return 0;
}
