// net_sysctl_congestion: net.ipv4.tcp_congestion_control names the
// congestion control a new TCP socket starts with (TCP_CONGESTION reads it
// back), one of tcp_available_congestion_control; writing another
// available one changes it for sockets made after, not for those before;
// a name no algorithm has is ENOENT and changes nothing; and the list of
// those available is read-only.
//
//go:build ignore

#include "net_sysctl_check.h"
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>

#define CC "net/ipv4/tcp_congestion_control"

// socket_cc returns the congestion control of TCP socket fd in buf.
static const char *socket_cc(int fd, char *buf) {
	char name[17] = {0};
	socklen_t len = 16;
	CHECK_OK(getsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, name, &len));
	strcpy(buf, name);
	return buf;
}

// new_socket_cc returns the congestion control of a new TCP socket.
static const char *new_socket_cc(char *buf) {
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(fd >= 0);
	socket_cc(fd, buf);
	close(fd);
	return buf;
}

// listed reports whether name is a word of the blank-separated list.
static int listed(const char *list, const char *name) {
	size_t n = strlen(name);
	for (const char *p = list; (p = strstr(p, name)) != NULL; p += n)
		if ((p == list || p[-1] == ' ') && (p[n] == 0 || p[n] == ' '))
			return 1;
	return 0;
}

int main(void) {
	enter_netns();
	char def[64], avail[256], allowed[256], cc[32], line[80];
	sysctl_get(CC, def, sizeof def);
	sysctl_get("net/ipv4/tcp_available_congestion_control", avail, sizeof avail);
	sysctl_get("net/ipv4/tcp_allowed_congestion_control", allowed, sizeof allowed);
	CHECK(listed(avail, def));
	CHECK(listed(avail, "reno")); // built into every Linux
	CHECK(listed(allowed, "reno"));
	CHECK(strcmp(new_socket_cc(cc), def) == 0);

	// Each algorithm a namespace may choose (allowed ones; reno is
	// always among them), for sockets made after.
	int before = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(before >= 0);
	char word[64];
	int n = 0;
	for (const char *p = allowed; sscanf(p, "%63s%n", word, &n) == 1; p += n) {
		if (!listed(avail, word))
			continue;
		snprintf(line, sizeof line, "%s\n", word);
		CHECK_EQ(sysctl_put(CC, line), 0);
		CHECK(strcmp(sysctl_get(CC, cc, sizeof cc), word) == 0);
		CHECK(strcmp(new_socket_cc(cc), word) == 0);
		CHECK(strcmp(socket_cc(before, cc), def) == 0);
	}

	// An unknown name: ENOENT, and the choice stays.
	CHECK_EQ(sysctl_put(CC, "reno\n"), 0);
	CHECK_EQ(sysctl_put(CC, "no-such-algorithm\n"), ENOENT);
	CHECK(strcmp(sysctl_get(CC, cc, sizeof cc), "reno") == 0);
	CHECK(strcmp(new_socket_cc(cc), "reno") == 0);

	// What is available is the host's (or the sandbox's) to say.
	CHECK_EQ(sysctl_put("net/ipv4/tcp_available_congestion_control", "reno\n"), EACCES);
	close(before);
	return 0;
}
