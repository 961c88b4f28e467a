// inet_sockopt_socket: SOL_SOCKET options of TCP and UDP sockets:
// SO_TYPE, SO_DOMAIN, SO_PROTOCOL (read-only), boolean options that
// round-trip as 0/1, SO_LINGER, SO_SNDBUF/SO_RCVBUF (doubled, as Linux
// does), SO_RCVTIMEO, SO_PRIORITY (above 6 needs CAP_NET_ADMIN), unknown
// options ENOPROTOOPT; SO_COOKIE (8 bytes, never 0, the socket's own for
// its life), SO_PEERCRED of an inet socket (none), SO_DEBUG (on needs
// CAP_NET_ADMIN), SO_BSDCOMPAT (ignored), SO_INCOMING_CPU (-1 until
// set).
//
//go:build ignore

#include "inet_check.h"
#include "task_check.h"
#include <sys/time.h>

int main(void) {
	int t = socket(AF_INET, SOCK_STREAM, 0);
	int u = socket(AF_INET6, SOCK_DGRAM, 0);
	CHECK_EQ(getint(t, SOL_SOCKET, SO_TYPE), SOCK_STREAM);
	CHECK_EQ(getint(t, SOL_SOCKET, SO_DOMAIN), AF_INET);
	CHECK_EQ(getint(t, SOL_SOCKET, SO_PROTOCOL), IPPROTO_TCP);
	CHECK_EQ(getint(u, SOL_SOCKET, SO_TYPE), SOCK_DGRAM);
	CHECK_EQ(getint(u, SOL_SOCKET, SO_DOMAIN), AF_INET6);
	CHECK_EQ(getint(u, SOL_SOCKET, SO_PROTOCOL), IPPROTO_UDP);
	CHECK_EQ(getint(t, SOL_SOCKET, SO_ERROR), 0);
	int v = 1;
	CHECK_ERR(setsockopt(t, SOL_SOCKET, SO_TYPE, &v, sizeof v), ENOPROTOOPT);

	int bools[] = {SO_REUSEADDR, SO_REUSEPORT, SO_KEEPALIVE, SO_BROADCAST};
	for (unsigned i = 0; i < sizeof bools / sizeof bools[0]; i++) {
		CHECK_EQ(getint(t, SOL_SOCKET, bools[i]), 0);
		setint(t, SOL_SOCKET, bools[i], 7);
		CHECK_EQ(getint(t, SOL_SOCKET, bools[i]), 1);
		setint(t, SOL_SOCKET, bools[i], 0);
		CHECK_EQ(getint(t, SOL_SOCKET, bools[i]), 0);
	}
	// A short option value is EINVAL.
	char c = 1;
	CHECK_ERR(setsockopt(t, SOL_SOCKET, SO_REUSEADDR, &c, 1), EINVAL);

	struct linger lg = {.l_onoff = 1, .l_linger = 7}, lg2;
	CHECK_OK(setsockopt(t, SOL_SOCKET, SO_LINGER, &lg, sizeof lg));
	socklen_t l = sizeof lg2;
	CHECK_OK(getsockopt(t, SOL_SOCKET, SO_LINGER, &lg2, &l));
	CHECK_EQ(l, sizeof lg2);
	CHECK_EQ(lg2.l_onoff, 1);
	CHECK_EQ(lg2.l_linger, 7);

	setint(t, SOL_SOCKET, SO_SNDBUF, 65536);
	CHECK_EQ(getint(t, SOL_SOCKET, SO_SNDBUF), 131072);
	setint(t, SOL_SOCKET, SO_RCVBUF, 65536);
	CHECK_EQ(getint(t, SOL_SOCKET, SO_RCVBUF), 131072);
	CHECK(getint(u, SOL_SOCKET, SO_RCVBUF) > 0);

	struct timeval tv = {.tv_sec = 3, .tv_usec = 500000}, tv2;
	CHECK_OK(setsockopt(u, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv));
	l = sizeof tv2;
	CHECK_OK(getsockopt(u, SOL_SOCKET, SO_RCVTIMEO, &tv2, &l));
	CHECK_EQ(tv2.tv_sec, 3);
	CHECK_EQ(tv2.tv_usec, 500000);
	tv.tv_usec = 1000000;
	CHECK_ERR(setsockopt(u, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv), EDOM);

	// SO_PRIORITY: 0..6 for anyone, others with CAP_NET_ADMIN (root
	// here); SO_DEBUG on needs it too. A child without it gets EPERM
	// and EACCES.
	CHECK_EQ(getint(t, SOL_SOCKET, SO_PRIORITY), 0);
	setint(u, SOL_SOCKET, SO_PRIORITY, 6);
	CHECK_EQ(getint(u, SOL_SOCKET, SO_PRIORITY), 6);
	CHECK_EQ(getint(t, SOL_SOCKET, SO_DEBUG), 0);
	setint(t, SOL_SOCKET, SO_DEBUG, 5);
	CHECK_EQ(getint(t, SOL_SOCKET, SO_DEBUG), 1);
	if (geteuid() == 0) {
		pid_t pid = XFORK();
		if (pid == 0) {
			CHECK_OK(setgid(65534));
			CHECK_OK(setuid(65534));
			v = 7;
			CHECK_ERR(setsockopt(u, SOL_SOCKET, SO_PRIORITY, &v, sizeof v), EPERM);
			setint(u, SOL_SOCKET, SO_PRIORITY, 3);
			v = 1;
			CHECK_ERR(setsockopt(u, SOL_SOCKET, SO_DEBUG, &v, sizeof v), EACCES);
			setint(t, SOL_SOCKET, SO_DEBUG, 0);
			_exit(0);
		}
		WAIT_EXIT(pid, 0);
		CHECK_EQ(getint(u, SOL_SOCKET, SO_PRIORITY), 3);
		setint(u, SOL_SOCKET, SO_PRIORITY, 7);
		CHECK_EQ(getint(u, SOL_SOCKET, SO_PRIORITY), 7);
		CHECK_EQ(getint(t, SOL_SOCKET, SO_DEBUG), 0);
	}

	// SO_COOKIE: a u64, the same each time, another socket's differs;
	// a shorter buffer is EINVAL, a longer one gets 8 bytes.
	uint64_t ck[2] = {0, 0}, ck2 = 0;
	l = sizeof ck;
	CHECK_OK(getsockopt(t, SOL_SOCKET, SO_COOKIE, ck, &l));
	CHECK_EQ(l, 8);
	CHECK(ck[0] != 0);
	l = 8;
	CHECK_OK(getsockopt(t, SOL_SOCKET, SO_COOKIE, &ck2, &l));
	CHECK_EQ(ck2, ck[0]);
	CHECK_OK(getsockopt(u, SOL_SOCKET, SO_COOKIE, &ck2, &l));
	CHECK(ck2 != 0 && ck2 != ck[0]);
	l = 4;
	CHECK_ERR(getsockopt(t, SOL_SOCKET, SO_COOKIE, &ck2, &l), EINVAL);
	CHECK_ERR(setsockopt(t, SOL_SOCKET, SO_COOKIE, &ck2, 8), ENOPROTOOPT);

	// An inet socket has no peer credentials.
	struct ucred cr = {.pid = 7, .uid = 7, .gid = 7};
	l = sizeof cr;
	CHECK_OK(getsockopt(t, SOL_SOCKET, SO_PEERCRED, &cr, &l));
	CHECK_EQ(l, sizeof cr);
	CHECK_EQ(cr.pid, 0);
	CHECK_EQ(cr.uid, (uid_t)-1);
	CHECK_EQ(cr.gid, (gid_t)-1);

	CHECK_EQ(getint(t, SOL_SOCKET, SO_BSDCOMPAT), 0);
	setint(t, SOL_SOCKET, SO_BSDCOMPAT, 1);
	CHECK_EQ(getint(t, SOL_SOCKET, SO_BSDCOMPAT), 0);
	CHECK_EQ(getint(u, SOL_SOCKET, SO_INCOMING_CPU), -1);
	setint(u, SOL_SOCKET, SO_INCOMING_CPU, 1);
	CHECK_EQ(getint(u, SOL_SOCKET, SO_INCOMING_CPU), 1);
	setint(u, SOL_SOCKET, SO_INCOMING_CPU, -5);
	CHECK_EQ(getint(u, SOL_SOCKET, SO_INCOMING_CPU), -5);

	CHECK_ERR(getsockopt(t, SOL_SOCKET, 9999, &v, &l), ENOPROTOOPT);
	CHECK_ERR(setsockopt(t, SOL_SOCKET, 9999, &v, sizeof v), ENOPROTOOPT);
	// A truncated int is returned truncated.
	l = 1;
	unsigned char one = 0xaa;
	CHECK_OK(getsockopt(t, SOL_SOCKET, SO_TYPE, &one, &l));
	CHECK_EQ(l, 1);
	CHECK_EQ(one, SOCK_STREAM);
	return 0;
}
