// tcp_fastopen_client: the client side of TCP Fast Open when the client
// holds no cookie for the server, as with net.ipv4.tcp_fastopen's default
// of 1 (client on, server off: no server hands out cookies). sendto with
// MSG_FASTOPEN on an unconnected socket connects and then sends: blocking,
// it returns the bytes sent once the handshake is done; non-blocking, it
// is EINPROGRESS and sends nothing. It is EISCONN on a connected or
// listening socket, EINVAL without an address, EOPNOTSUPP for AF_UNSPEC,
// ECONNREFUSED when nothing listens. TCP_FASTOPEN_CONNECT (0 or 1) may
// be set on a closed socket only; connect then is a plain connect.
// TCP_FASTOPEN_NO_COOKIE (0 or 1) may be set on a closed or listening
// socket; a MSG_FASTOPEN send with it still gets its data through.
// Without the client bit in the sysctl both are EOPNOTSUPP. The test runs
// in a network namespace of its own, whose sysctl starts at 1.
//
//go:build ignore

#include "inet_check.h"
#include "net_sysctl_check.h"

#ifndef MSG_FASTOPEN
#define MSG_FASTOPEN 0x20000000
#endif
#ifndef TCP_FASTOPEN_CONNECT
#define TCP_FASTOPEN_CONNECT 30
#endif
#ifndef TCP_FASTOPEN_NO_COOKIE
#define TCP_FASTOPEN_NO_COOKIE 34
#endif

static int sysctl_fastopen(void) {
	FILE *f = fopen("/proc/sys/net/ipv4/tcp_fastopen", "r");
	CHECK(f != NULL);
	int v = -1;
	CHECK_EQ(fscanf(f, "%d", &v), 1);
	fclose(f);
	return v;
}

// accept_and_read accepts from l and returns how many bytes arrive within
// ms (0 if none), copying them into buf.
static int accept_and_read(int l, char *buf, size_t len, int ms) {
	CHECK(poll1(l, POLLIN, 2000) & POLLIN);
	int a = accept(l, NULL, NULL);
	CHECK(a >= 0);
	int n = 0;
	if (poll1(a, POLLIN, ms) & POLLIN)
		n = read(a, buf, len);
	close(a);
	return n;
}

// loopback_of fills to with the loopback address of family and port,
// and returns its length.
static socklen_t loopback_of(int family, int port, struct sockaddr_storage *to) {
	if (family == AF_INET) {
		struct sockaddr_in a = lo4(port);
		memcpy(to, &a, sizeof a);
		return sizeof a;
	}
	struct sockaddr_in6 a = lo6(port);
	memcpy(to, &a, sizeof a);
	return sizeof a;
}

static void send_fastopen(int family) {
	int l = listener(family, 8);
	int port = port_of(l);
	struct sockaddr_storage to;
	socklen_t tolen = loopback_of(family, port, &to);
	char buf[16];

	// Blocking: connect, then send.
	int c = socket(family, SOCK_STREAM, 0);
	CHECK(c >= 0);
	CHECK_EQ(sendto(c, "hello", 5, MSG_FASTOPEN, (struct sockaddr *)&to, tolen), 5);
	struct sockaddr_storage peer;
	socklen_t pl = sizeof peer;
	CHECK_OK(getpeername(c, (struct sockaddr *)&peer, &pl));
	CHECK_EQ(accept_and_read(l, buf, sizeof buf, 2000), 5);
	CHECK_MEM(buf, "hello", 5);
	// Connected now: EISCONN, as connect would say.
	CHECK_ERR(sendto(c, "x", 1, MSG_FASTOPEN, (struct sockaddr *)&to, tolen), EISCONN);
	CHECK_ERR(send(c, "x", 1, MSG_FASTOPEN), EISCONN);
	close(c);

	// Non-blocking, by the flag or the descriptor: EINPROGRESS, the
	// connection comes up, and the data was not sent.
	for (int i = 0; i < 2; i++) {
		c = socket(family, SOCK_STREAM | (i ? SOCK_NONBLOCK : 0), 0);
		CHECK(c >= 0);
		CHECK_ERR(sendto(c, "data", 4, MSG_FASTOPEN | (i ? 0 : MSG_DONTWAIT), (struct sockaddr *)&to, tolen), EINPROGRESS);
		CHECK(poll1(c, POLLOUT, 2000) & POLLOUT);
		int err = -1;
		socklen_t el = sizeof err;
		CHECK_OK(getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &el));
		CHECK_EQ(err, 0);
		CHECK_EQ(accept_and_read(l, buf, sizeof buf, 100), 0);
		close(c);
	}

	// No address; AF_UNSPEC; a listening socket.
	c = socket(family, SOCK_STREAM, 0);
	CHECK_ERR(sendto(c, "x", 1, MSG_FASTOPEN, NULL, 0), EINVAL);
	struct sockaddr unspec = {.sa_family = AF_UNSPEC};
	CHECK_ERR(sendto(c, "x", 1, MSG_FASTOPEN, &unspec, sizeof unspec), EOPNOTSUPP);
	CHECK_ERR(sendto(l, "x", 1, MSG_FASTOPEN, (struct sockaddr *)&to, tolen), EISCONN);

	// Nothing listening.
	close(l);
	CHECK_ERR(sendto(c, "x", 1, MSG_FASTOPEN, (struct sockaddr *)&to, tolen), ECONNREFUSED);
	close(c);
}

static void fastopen_connect(int family) {
	int c = socket(family, SOCK_STREAM, 0);
	CHECK(c >= 0);
	CHECK_EQ(getint(c, SOL_TCP, TCP_FASTOPEN_CONNECT), 0);
	setint(c, SOL_TCP, TCP_FASTOPEN_CONNECT, 1);
	CHECK_EQ(getint(c, SOL_TCP, TCP_FASTOPEN_CONNECT), 1);
	int v = 2;
	CHECK_ERR(setsockopt(c, SOL_TCP, TCP_FASTOPEN_CONNECT, &v, sizeof v), EINVAL);
	v = -1;
	CHECK_ERR(setsockopt(c, SOL_TCP, TCP_FASTOPEN_CONNECT, &v, sizeof v), EINVAL);
	CHECK_EQ(getint(c, SOL_TCP, TCP_FASTOPEN_CONNECT), 1);

	// With no cookie, connect is a plain connect.
	int l = listener(family, 1);
	CHECK_OK(connect_to(c, family, port_of(l)));
	CHECK_EQ(write(c, "abc", 3), 3);
	char buf[8];
	CHECK_EQ(accept_and_read(l, buf, sizeof buf, 2000), 3);
	CHECK_MEM(buf, "abc", 3);
	// Set only while closed.
	v = 0;
	CHECK_ERR(setsockopt(c, SOL_TCP, TCP_FASTOPEN_CONNECT, &v, sizeof v), EINVAL);
	CHECK_ERR(setsockopt(l, SOL_TCP, TCP_FASTOPEN_CONNECT, &v, sizeof v), EINVAL);
	close(c);

	// Non-blocking: EINPROGRESS as any connect.
	c = socket(family, SOCK_STREAM | SOCK_NONBLOCK, 0);
	setint(c, SOL_TCP, TCP_FASTOPEN_CONNECT, 1);
	CHECK_ERR(connect_to(c, family, port_of(l)), EINPROGRESS);
	CHECK(poll1(c, POLLOUT, 2000) & POLLOUT);
	close(c);
	close(l);
}

static void fastopen_no_cookie(int family) {
	int c = socket(family, SOCK_STREAM, 0);
	CHECK(c >= 0);
	CHECK_EQ(getint(c, SOL_TCP, TCP_FASTOPEN_NO_COOKIE), 0);
	setint(c, SOL_TCP, TCP_FASTOPEN_NO_COOKIE, 1);
	CHECK_EQ(getint(c, SOL_TCP, TCP_FASTOPEN_NO_COOKIE), 1);
	int v = 2;
	CHECK_ERR(setsockopt(c, SOL_TCP, TCP_FASTOPEN_NO_COOKIE, &v, sizeof v), EINVAL);
	int l = listener(family, 1);
	setint(l, SOL_TCP, TCP_FASTOPEN_NO_COOKIE, 1);
	CHECK_EQ(getint(l, SOL_TCP, TCP_FASTOPEN_NO_COOKIE), 1);

	struct sockaddr_storage to;
	socklen_t tolen = loopback_of(family, port_of(l), &to);
	CHECK_EQ(sendto(c, "xyz", 3, MSG_FASTOPEN, (struct sockaddr *)&to, tolen), 3);
	char buf[8];
	CHECK_EQ(accept_and_read(l, buf, sizeof buf, 2000), 3);
	CHECK_MEM(buf, "xyz", 3);
	// Connected: no longer.
	v = 0;
	CHECK_ERR(setsockopt(c, SOL_TCP, TCP_FASTOPEN_NO_COOKIE, &v, sizeof v), EINVAL);
	close(c);
	close(l);
}

// client_off checks that without the sysctl's client bit both ways are
// EOPNOTSUPP.
static void client_off(void) {
	int c = socket(AF_INET, SOCK_STREAM, 0);
	int v = 1;
	CHECK_ERR(setsockopt(c, SOL_TCP, TCP_FASTOPEN_CONNECT, &v, sizeof v), EOPNOTSUPP);
	struct sockaddr_in a = lo4(1);
	CHECK_ERR(sendto(c, "x", 1, MSG_FASTOPEN, (struct sockaddr *)&a, sizeof a), EOPNOTSUPP);
	close(c);
}

int main(void) {
	// A fresh namespace: the default, 1 (clients only).
	enter_netns();
	lo_up();
	CHECK_EQ(sysctl_fastopen(), 1);
	send_fastopen(AF_INET);
	send_fastopen(AF_INET6);
	fastopen_connect(AF_INET);
	fastopen_connect(AF_INET6);
	fastopen_no_cookie(AF_INET);
	fastopen_no_cookie(AF_INET6);

	// UDP ignores the flag.
	int u = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = lo4(9);
	CHECK_EQ(sendto(u, "x", 1, MSG_FASTOPEN, (struct sockaddr *)&a, sizeof a), 1);
	close(u);

	SYSCTL_SET("net/ipv4/tcp_fastopen", "0");
	client_off();
	return 0;
}
