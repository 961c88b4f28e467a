// net_sysctl_ports: net.ipv4.ip_local_port_range and
// ip_unprivileged_port_start take effect in their namespace. With the
// range narrowed to two ports, an unbound socket's connect and bind to
// port 0 (TCP and UDP) get ports within it, and once both ports are bound
// bind to port 0 is EADDRINUSE. Without CAP_NET_BIND_SERVICE, binding a
// port below ip_unprivileged_port_start is EACCES and one at or above it
// works; lowering the start lets the same process bind the lower port.
//
//go:build ignore

#include "inet_check.h"
#include "net_sysctl_check.h"

#define LOW 40000
#define HIGH 40001

static int bind_port(int type, int port) {
	int s = socket(AF_INET, type | SOCK_CLOEXEC, 0);
	CHECK(s >= 0);
	struct sockaddr_in a = lo4(port);
	if (bind(s, (struct sockaddr *)&a, sizeof a) != 0) {
		int e = errno;
		close(s);
		errno = e;
		return -1;
	}
	return s;
}

static void in_range(int s) {
	int p = port_of(s);
	if (p < LOW || p > HIGH)
		FAIL("ephemeral port %d outside %d-%d", p, LOW, HIGH);
}

static void ephemeral(int type) {
	int a = bind_port(type, 0);
	CHECK(a >= 0);
	in_range(a);
	int b = bind_port(type, 0);
	CHECK(b >= 0);
	in_range(b);
	CHECK(port_of(a) != port_of(b));
	CHECK_EQ(bind_port(type, 0), -1);
	CHECK_EQ(errno, EADDRINUSE);
	close(a);
	close(b);
}

int main(void) {
	enter_netns();
	lo_up();
	SYSCTL_SET("net/ipv4/ip_local_port_range", "40000 40001");

	// Bound sockets leave nothing behind when closed; a connection
	// leaves TIME_WAIT, which holds its port: binds first.
	ephemeral(SOCK_STREAM);
	ephemeral(SOCK_DGRAM);

	// connect without bind, TCP and UDP.
	int l = bind_port(SOCK_STREAM, 5000);
	CHECK(l >= 0);
	CHECK_OK(listen(l, 4));
	int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(c >= 0);
	CHECK_EQ(connect_to(c, AF_INET, 5000), 0);
	in_range(c);
	int u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	CHECK(u >= 0);
	struct sockaddr_in to = lo4(5001);
	CHECK_OK(connect(u, (struct sockaddr *)&to, sizeof to));
	in_range(u);
	close(u);
	close(c);
	close(l);

	pid_t pid = XFORK();
	if (pid == 0) {
		// Dropping to nobody drops CAP_NET_BIND_SERVICE.
		CHECK_OK(setgid(65534));
		CHECK_OK(setuid(65534));
		CHECK_EQ(bind_port(SOCK_STREAM, 1023), -1);
		CHECK_EQ(errno, EACCES);
		CHECK_EQ(bind_port(SOCK_DGRAM, 80), -1);
		CHECK_EQ(errno, EACCES);
		int s = bind_port(SOCK_STREAM, 1024);
		CHECK(s >= 0);
		close(s);
		_exit(0);
	}
	WAIT_EXIT(pid, 0);

	SYSCTL_SET("net/ipv4/ip_unprivileged_port_start", "80");
	pid = XFORK();
	if (pid == 0) {
		CHECK_OK(setgid(65534));
		CHECK_OK(setuid(65534));
		int s = bind_port(SOCK_STREAM, 80);
		CHECK(s >= 0);
		close(s);
		CHECK_EQ(bind_port(SOCK_STREAM, 79), -1);
		CHECK_EQ(errno, EACCES);
		_exit(0);
	}
	WAIT_EXIT(pid, 0);
	return 0;
}
