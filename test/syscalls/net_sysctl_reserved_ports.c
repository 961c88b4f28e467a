// net_sysctl_reserved_ports: net.ipv4.ip_local_reserved_ports reads back
// as Linux's list of ports and ranges (an empty line when empty), refuses
// malformed lists with EINVAL, and keeps ephemeral picks off its ports:
// with the range narrowed to ten ports, some reserved, bind to port 0
// (TCP and UDP, both families) and connect of unbound TCP and UDP sockets
// get only the others, until those run out (EADDRINUSE, EADDRNOTAVAIL,
// EAGAIN). A reserved port is still bound by number, and once that
// socket is closed picks skip it again.
//
//go:build ignore

#include "inet_check.h"
#include "net_sysctl_check.h"

#define RESERVED "net/ipv4/ip_local_reserved_ports"

// The range is 40000-40009 with 40002-40004, 40007 and 40009 reserved.
static const int free_ports[] = {40000, 40001, 40005, 40006, 40008};
#define NFREE ((int)(sizeof free_ports / sizeof free_ports[0]))

static void check_free(int s) {
	int p = port_of(s);
	for (int i = 0; i < NFREE; i++)
		if (free_ports[i] == p)
			return;
	FAIL("ephemeral port %d is reserved or outside the range", p);
}

static int bind_port(int family, int type, int port) {
	int s = socket(family, type | SOCK_CLOEXEC, 0);
	CHECK(s >= 0);
	int r;
	if (family == AF_INET) {
		struct sockaddr_in a = lo4(port);
		r = bind(s, (struct sockaddr *)&a, sizeof a);
	} else {
		struct sockaddr_in6 a = lo6(port);
		r = bind(s, (struct sockaddr *)&a, sizeof a);
	}
	if (r != 0) {
		int e = errno;
		close(s);
		errno = e;
		return -1;
	}
	return s;
}

// bind_all binds sockets to port 0 until the free ports run out, checks
// each port, and closes them.
static void bind_all(int family, int type) {
	int fds[NFREE];
	for (int i = 0; i < NFREE; i++) {
		fds[i] = bind_port(family, type, 0);
		if (fds[i] < 0)
			FAIL("bind %d of family %d type %d to port 0: %s", i, family, type, strerror(errno));
		check_free(fds[i]);
	}
	CHECK_EQ(bind_port(family, type, 0), -1);
	CHECK_EQ(errno, EADDRINUSE);
	for (int i = 0; i < NFREE; i++)
		close(fds[i]);
}

// connect_all connects unbound sockets of type to port until the free
// ports run out, which fails with errno want; it returns the sockets.
static void connect_all(int type, int port, int want, int *fds) {
	for (int i = 0; i < NFREE; i++) {
		fds[i] = socket(AF_INET, type | SOCK_CLOEXEC, 0);
		CHECK(fds[i] >= 0);
		CHECK_OK(connect_to(fds[i], AF_INET, port));
		check_free(fds[i]);
	}
	int s = socket(AF_INET, type | SOCK_CLOEXEC, 0);
	CHECK(s >= 0);
	CHECK_EQ(connect_to(s, AF_INET, port), -1);
	CHECK_EQ(errno, want);
	close(s);
}

int main(void) {
	enter_netns();
	lo_up();

	SYSCTL_IS(RESERVED, "");
	SYSCTL_SET(RESERVED, "40007,40002-40004\n40009");
	SYSCTL_IS(RESERVED, "40002-40004,40007,40009");
	const char *bad[] = {"40004-40002", "65536", " 1", "1 ", "1-", "1,,2", "-1", "a"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (sysctl_put(RESERVED, bad[i]) != EINVAL)
			FAIL("writing \"%s\" is not EINVAL", bad[i]);
	}
	SYSCTL_IS(RESERVED, "40002-40004,40007,40009");
	SYSCTL_SET("net/ipv4/ip_local_port_range", "40000 40009");

	// Bound sockets leave nothing behind when closed; connections
	// leave TIME_WAIT, which holds their ports: binds first.
	bind_all(AF_INET, SOCK_STREAM);
	bind_all(AF_INET, SOCK_DGRAM);
	bind_all(AF_INET6, SOCK_STREAM);
	bind_all(AF_INET6, SOCK_DGRAM);

	// Reserved ports are bound by number, and skipped again once
	// closed.
	int t = bind_port(AF_INET, SOCK_STREAM, 40002);
	CHECK(t >= 0);
	int u = bind_port(AF_INET, SOCK_DGRAM, 40007);
	CHECK(u >= 0);
	bind_all(AF_INET, SOCK_STREAM);
	bind_all(AF_INET, SOCK_DGRAM);
	close(t);
	close(u);
	bind_all(AF_INET, SOCK_STREAM);
	bind_all(AF_INET, SOCK_DGRAM);

	// Unbound UDP sockets connecting: EAGAIN once the ports run out.
	int fds[NFREE];
	connect_all(SOCK_DGRAM, 5001, EAGAIN, fds);
	for (int i = 0; i < NFREE; i++)
		close(fds[i]);

	// Unbound TCP sockets connecting to a server on a reserved port:
	// EADDRNOTAVAIL once the ports run out.
	int l = bind_port(AF_INET, SOCK_STREAM, 40003);
	CHECK(l >= 0);
	CHECK_OK(listen(l, 2 * NFREE));
	connect_all(SOCK_STREAM, 40003, EADDRNOTAVAIL, fds);
	for (int i = 0; i < NFREE; i++)
		close(fds[i]);
	close(l);

	// An empty write empties the set.
	SYSCTL_SET(RESERVED, "\n");
	SYSCTL_IS(RESERVED, "");
	return 0;
}
