// inet_tcp_disconnect: connect(2) with AF_UNSPEC on TCP sockets
// (tcp_disconnect), IPv4 and IPv6. On a listener bound to a port of its
// own choosing it stops listening, as HAProxy pauses its listeners: the
// connection waiting to be accepted is reset, new ones are refused, the
// socket is in TCP_CLOSE (SO_ACCEPTCONN 0, TCP_INFO's state, poll
// POLLOUT|POLLHUP, accept EINVAL, no line in /proc/net/tcp, another
// shutdown ENOTCONN, another disconnect 0) and keeps its port, and
// listen(2) starts it again on the same port. shutdown(SHUT_RD) on a
// listener does the same; SHUT_WR leaves it listening. On a socket that
// never connected, bound or not, it changes nothing.
//
//go:build ignore

#include "inet_check.h"

#include <fcntl.h>
#include <stdio.h>

static const struct sockaddr unspec = {.sa_family = AF_UNSPEC};

// bound_to returns a TCP socket bound to loopback:port of the family.
static int bound_to(int family, int port) {
	int s = socket(family, SOCK_STREAM, 0);
	CHECK(s >= 0);
	setint(s, SOL_SOCKET, SO_REUSEADDR, 1);
	bind_lo(s, family, port);
	return s;
}

static int tcp_state(int fd) {
	struct tcp_info ti;
	socklen_t l = sizeof ti;
	CHECK_OK(getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &l));
	return ti.tcpi_state;
}

// listed reports whether /proc/net/tcp (tcp6) has a listening socket on
// local port (connections a listener accepted have its port too).
static int listed(int family, int port) {
	FILE *f = fopen(family == AF_INET ? "/proc/net/tcp" : "/proc/net/tcp6", "r");
	CHECK(f != NULL);
	char line[512];
	char want[8];
	snprintf(want, sizeof want, ":%04X", port);
	int found = 0;
	CHECK(fgets(line, sizeof line, f) != NULL); // the heading
	while (fgets(line, sizeof line, f) != NULL) {
		// "  sl  local_address rem_address   st ...": 0A is TCP_LISTEN.
		char local[64], st[8];
		if (sscanf(line, "%*s %63s %*s %7s", local, st) == 2) {
			size_t n = strlen(local);
			if (n > 5 && strncmp(local + n - 5, want, 5) == 0 && strcmp(st, "0A") == 0)
				found = 1;
		}
	}
	fclose(f);
	return found;
}

// check_stopped checks a listener on port that stopped listening.
static void check_stopped(int l, int family, int port) {
	CHECK_EQ(getint(l, SOL_SOCKET, SO_ACCEPTCONN), 0);
	CHECK_EQ(tcp_state(l), TCP_CLOSE);
	CHECK_EQ(poll1(l, POLLIN | POLLOUT, 0), POLLOUT | POLLHUP);
	CHECK_EQ(port_of(l), port);
	CHECK_ERR(accept4(l, NULL, NULL, SOCK_NONBLOCK), EINVAL);
	CHECK(!listed(family, port));
	int c = socket(family, SOCK_STREAM, 0);
	CHECK(c >= 0);
	CHECK_ERR(connect_to(c, family, port), ECONNREFUSED);
	close(c);
	CHECK_ERR(shutdown(l, SHUT_RD), ENOTCONN);
	CHECK_OK(connect(l, &unspec, sizeof unspec));
}

// check_restarts listens on l again and takes a connection with data.
static void check_restarts(int l, int family, int port) {
	CHECK_OK(listen(l, 8));
	CHECK_EQ(getint(l, SOL_SOCKET, SO_ACCEPTCONN), 1);
	CHECK_EQ(tcp_state(l), TCP_LISTEN);
	CHECK(listed(family, port));
	int c = socket(family, SOCK_STREAM, 0);
	CHECK(c >= 0);
	CHECK_OK(connect_to(c, family, port));
	CHECK_EQ(write(c, "hi", 2), 2);
	int a = accept(l, NULL, NULL);
	CHECK(a >= 0);
	char buf[4];
	CHECK_EQ(read(a, buf, sizeof buf), 2);
	CHECK_MEM(buf, "hi", 2);
	close(a);
	close(c);
}

// stop_listener stops a listener with a connection waiting to be
// accepted, which is reset.
static void stop_listener(int family, int use_shutdown) {
	int port = free_port(family, SOCK_STREAM);
	int l = bound_to(family, port);
	CHECK_OK(listen(l, 8));
	int waiting = socket(family, SOCK_STREAM, 0);
	CHECK(waiting >= 0);
	CHECK_OK(connect_to(waiting, family, port));
	// The handshake ends in the listener's queue, not in accept.
	CHECK(poll1(l, POLLIN, 2000) & POLLIN);
	if (use_shutdown)
		CHECK_OK(shutdown(l, SHUT_RD));
	else
		CHECK_OK(connect(l, &unspec, sizeof unspec));
	CHECK(poll1(waiting, POLLIN, 2000) & (POLLIN | POLLERR | POLLHUP));
	char ch;
	CHECK_ERR(recv(waiting, &ch, 1, MSG_DONTWAIT), ECONNRESET);
	close(waiting);
	check_stopped(l, family, port);
	check_restarts(l, family, port);
	// Stopped and started again, twice.
	CHECK_OK(connect(l, &unspec, sizeof unspec));
	check_stopped(l, family, port);
	check_restarts(l, family, port);
	close(l);
}

// shutdown_write_listener: SHUT_WR leaves a listener listening.
static void shutdown_write_listener(int family) {
	int l = listener(family, 8);
	int port = port_of(l);
	CHECK_OK(shutdown(l, SHUT_WR));
	CHECK_EQ(getint(l, SOL_SOCKET, SO_ACCEPTCONN), 1);
	int c = socket(family, SOCK_STREAM, 0);
	CHECK(c >= 0);
	CHECK_OK(connect_to(c, family, port));
	int a = accept(l, NULL, NULL);
	CHECK(a >= 0);
	close(a);
	close(c);
	close(l);
}

// never_connected: a socket in TCP_CLOSE from the start stays as it was.
static void never_connected(int family) {
	int s = socket(family, SOCK_STREAM, 0);
	CHECK(s >= 0);
	CHECK_OK(connect(s, &unspec, sizeof unspec));
	CHECK_EQ(tcp_state(s), TCP_CLOSE);
	CHECK_EQ(getint(s, SOL_SOCKET, SO_ERROR), 0);
	// It connects as any other.
	int l = listener(family, 8);
	CHECK_OK(connect_to(s, family, port_of(l)));
	close(s);

	int port = free_port(family, SOCK_STREAM);
	int b = bound_to(family, port);
	CHECK_OK(connect(b, &unspec, sizeof unspec));
	CHECK_EQ(port_of(b), port);
	CHECK_OK(listen(b, 8));
	CHECK_EQ(getint(b, SOL_SOCKET, SO_ACCEPTCONN), 1);
	close(b);
	close(l);
}

int main(void) {
	int families[] = {AF_INET, AF_INET6};
	for (int i = 0; i < 2; i++) {
		stop_listener(families[i], 0);
		stop_listener(families[i], 1);
		shutdown_write_listener(families[i]);
		never_connected(families[i]);
	}
	return 0;
}
