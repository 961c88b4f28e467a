// inet_check.h: helpers shared by the inet_* differential tests: loopback
// addresses, listeners on ephemeral ports, connected TCP pairs.
#ifndef COCOON_TEST_INET_CHECK_H
#define COCOON_TEST_INET_CHECK_H

#include "check.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

// lo4 returns 127.0.0.1:port.
static inline struct sockaddr_in lo4(int port) {
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
}

// lo6 returns [::1]:port.
static inline struct sockaddr_in6 lo6(int port) {
	struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
	a.sin6_addr = in6addr_loopback;
	return a;
}

// port_of_addr returns the port of an AF_INET or AF_INET6 address.
static inline int port_of_addr(const struct sockaddr_storage *ss) {
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
}

// port_of returns the port a socket is bound to.
static inline int port_of(int fd) {
	struct sockaddr_storage ss;
	socklen_t l = sizeof ss;
	CHECK_OK(getsockname(fd, (struct sockaddr *)&ss, &l));
	return port_of_addr(&ss);
}

// bind_lo binds s to loopback:port of the family (0: an ephemeral port).
static inline void bind_lo(int s, int family, int port) {
	if (family == AF_INET) {
		struct sockaddr_in a = lo4(port);
		CHECK_OK(bind(s, (struct sockaddr *)&a, sizeof a));
	} else {
		struct sockaddr_in6 a = lo6(port);
		CHECK_OK(bind(s, (struct sockaddr *)&a, sizeof a));
	}
}

// listener returns a TCP socket of the family listening on loopback, on
// an ephemeral port.
static inline int listener(int family, int backlog) {
	int s = socket(family, SOCK_STREAM, 0);
	CHECK(s >= 0);
	bind_lo(s, family, 0);
	CHECK_OK(listen(s, backlog));
	return s;
}

// free_port returns a loopback port of the family that no socket of the
// type holds now.
static inline int free_port(int family, int type) {
	int s = socket(family, type, 0);
	CHECK(s >= 0);
	bind_lo(s, family, 0);
	int port = port_of(s);
	close(s);
	return port;
}

// connect_to connects fd to loopback:port of the family.
static inline int connect_to(int fd, int family, int port) {
	if (family == AF_INET) {
		struct sockaddr_in a = lo4(port);
		return connect(fd, (struct sockaddr *)&a, sizeof a);
	}
	struct sockaddr_in6 a = lo6(port);
	return connect(fd, (struct sockaddr *)&a, sizeof a);
}

// lo_datagram_arrives checks that a UDP datagram of the family sent to
// loopback arrives.
static inline void lo_datagram_arrives(int family) {
	int r = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0), s = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	CHECK(r >= 0 && s >= 0);
	bind_lo(r, family, 0);
	CHECK_OK(connect_to(s, family, port_of(r)));
	CHECK_EQ(send(s, "d", 1, 0), 1);
	char b;
	CHECK_EQ(recv(r, &b, 1, 0), 1);
	CHECK_EQ(b, 'd');
	close(r);
	close(s);
}

// tcp_pair makes a connected TCP pair over loopback: *c the client, *a
// the accepted end.
static inline void tcp_pair(int family, int *c, int *a) {
	int l = listener(family, 1);
	*c = socket(family, SOCK_STREAM, 0);
	CHECK(*c >= 0);
	CHECK_OK(connect_to(*c, family, port_of(l)));
	*a = accept(l, NULL, NULL);
	CHECK(*a >= 0);
	close(l);
}

// poll1 returns the revents of fd for events after waiting up to ms.
static inline short poll1(int fd, short events, int ms) {
	struct pollfd p = {.fd = fd, .events = events};
	CHECK(poll(&p, 1, ms) >= 0);
	return p.revents;
}

// getint returns an int socket option.
static inline int getint(int fd, int level, int name) {
	int v = -12345;
	socklen_t l = sizeof v;
	CHECK_OK(getsockopt(fd, level, name, &v, &l));
	CHECK_EQ(l, sizeof v);
	return v;
}

static inline void setint(int fd, int level, int name, int v) {
	CHECK_OK(setsockopt(fd, level, name, &v, sizeof v));
}

#endif
