// procfs_sockstat: /proc/net/sockstat and sockstat6 count the sockets of
// the reader's network namespace in use: in a fresh namespace, an IPv6
// TCP listener and a bound IPv6 UDP socket show in sockstat6 and not in
// sockstat's IPv4 counts, an IPv4 listener in sockstat; a TCP socket
// never bound or connected is in neither.
//
//go:build ignore

#include "check.h"
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>

// count returns the "inuse" count of proto's line in path.
static int count(const char *path, const char *proto) {
	// A newline before the text, so every line starts after one.
	char buf[4096] = "\n";
	FILE *f = fopen(path, "r");
	if (!f)
		FAIL("opening %s (errno %d %s)", path, errno, errname(errno));
	size_t n = fread(buf + 1, 1, sizeof buf - 2, f);
	fclose(f);
	buf[n + 1] = 0;
	char key[32];
	snprintf(key, sizeof key, "\n%s: inuse ", proto);
	char *p = strstr(buf, key);
	if (!p)
		FAIL("no %s line in %s:%s", proto, path, buf);
	return atoi(p + strlen(key));
}

static int listener(int family) {
	int s = socket(family, SOCK_STREAM, 0);
	CHECK(s >= 0);
	struct sockaddr_storage a = {0};
	a.ss_family = family;
	CHECK_OK(bind(s, (struct sockaddr *)&a, family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in)));
	CHECK_OK(listen(s, 1));
	return s;
}

int main(void) {
	if (geteuid() != 0)
		return 0; // a network namespace of its own needs CAP_SYS_ADMIN
	CHECK_OK(unshare(CLONE_NEWNET));
	CHECK_EQ(count("/proc/net/sockstat", "TCP"), 0);
	CHECK_EQ(count("/proc/net/sockstat6", "TCP6"), 0);
	CHECK_EQ(count("/proc/net/sockstat6", "UDP6"), 0);
	int idle = socket(AF_INET6, SOCK_STREAM, 0);
	CHECK(idle >= 0);
	int l6 = listener(AF_INET6);
	int u6 = socket(AF_INET6, SOCK_DGRAM, 0);
	struct sockaddr_in6 a6 = {.sin6_family = AF_INET6};
	CHECK_OK(bind(u6, (struct sockaddr *)&a6, sizeof a6));
	CHECK_EQ(count("/proc/net/sockstat6", "TCP6"), 1);
	CHECK_EQ(count("/proc/net/sockstat6", "UDP6"), 1);
	CHECK_EQ(count("/proc/net/sockstat", "TCP"), 0);
	CHECK_EQ(count("/proc/net/sockstat", "UDP"), 0);
	int l4 = listener(AF_INET);
	CHECK_EQ(count("/proc/net/sockstat", "TCP"), 1);
	CHECK_EQ(count("/proc/net/sockstat6", "TCP6"), 1);
	close(l4);
	close(l6);
	close(u6);
	close(idle);
	return 0;
}
