// unix_dgram: SOCK_DGRAM and SOCK_SEQPACKET keep message boundaries: one
// read returns one message, the excess of a long one is discarded
// (recv's MSG_TRUNC returns the real length, recvmsg sets MSG_TRUNC),
// MSG_PEEK leaves it queued, readv scatters one message, empty datagrams
// exist; sendto a bound path, recvfrom reports the sender's name (nothing
// for an unnamed one); connected datagram sockets refuse strangers (EPERM)
// and report a vanished peer once (ECONNREFUSED, then ENOTCONN).
//
//go:build ignore

#include "fs_check.h"
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>

static void boundaries(int type) {
	int sv[2];
	CHECK_OK(socketpair(AF_UNIX, type, 0, sv));
	CHECK_EQ(send(sv[0], "one", 3, 0), 3);
	CHECK_EQ(send(sv[0], "two!", 4, 0), 4);
	CHECK_EQ(send(sv[0], "", 0, 0), 0);
	CHECK_EQ(send(sv[0], "a long message", 14, 0), 14);
	char buf[64];
	CHECK_EQ(recv(sv[1], buf, sizeof buf, MSG_PEEK), 3);
	CHECK_EQ(recv(sv[1], buf, sizeof buf, 0), 3);
	CHECK_MEM(buf, "one", 3);
	CHECK_EQ(recv(sv[1], buf, 2, MSG_TRUNC), 4);
	CHECK_MEM(buf, "tw", 2);
	CHECK_EQ(recv(sv[1], buf, sizeof buf, 0), 0);
	char x[4], y[4];
	struct iovec iov[2] = {{x, 4}, {y, 4}};
	struct msghdr m = {.msg_iov = iov, .msg_iovlen = 2};
	CHECK_EQ(recvmsg(sv[1], &m, 0), 8);
	CHECK_MEM(x, "a lo", 4);
	CHECK_MEM(y, "ng m", 4);
	CHECK(m.msg_flags & MSG_TRUNC);
	CHECK_ERR(recv(sv[1], buf, sizeof buf, MSG_DONTWAIT), EAGAIN);
	// writev sends one message.
	struct iovec w[2] = {{"ab", 2}, {"cd", 2}};
	CHECK_EQ(writev(sv[1], w, 2), 4);
	CHECK_EQ(read(sv[0], buf, sizeof buf), 4);
	CHECK_MEM(buf, "abcd", 4);
	int v;
	socklen_t vl = sizeof v;
	CHECK_OK(getsockopt(sv[0], SOL_SOCKET, SO_TYPE, &v, &vl));
	CHECK_EQ(v, type);
	// Too big for the send buffer.
	v = 4096;
	CHECK_OK(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &v, sizeof v));
	static char big[65536];
	CHECK_ERR(send(sv[0], big, sizeof big, 0), EMSGSIZE);
	close(sv[0]);
	close(sv[1]);
}

int main(void) {
	boundaries(SOCK_DGRAM);
	boundaries(SOCK_SEQPACKET);

	scratch_cd();
	int srv = socket(AF_UNIX, SOCK_DGRAM, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX, .sun_path = "d"};
	CHECK_OK(bind(srv, (struct sockaddr *)&sa, sizeof sa));
	int c = socket(AF_UNIX, SOCK_DGRAM, 0);
	CHECK_ERR(send(c, "x", 1, 0), ENOTCONN);
	CHECK_EQ(sendto(c, "hi", 2, 0, (struct sockaddr *)&sa, sizeof sa), 2);
	char buf[16];
	struct sockaddr_un from;
	socklen_t fl = sizeof from;
	CHECK_EQ(recvfrom(srv, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl), 2);
	CHECK_EQ(fl, 0);
	// A named sender is reported.
	struct sockaddr_un ca = {.sun_family = AF_UNIX, .sun_path = "c"};
	CHECK_OK(bind(c, (struct sockaddr *)&ca, sizeof ca));
	CHECK_EQ(sendto(c, "yo", 2, 0, (struct sockaddr *)&sa, sizeof sa), 2);
	fl = sizeof from;
	CHECK_EQ(recvfrom(srv, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl), 2);
	CHECK_EQ(fl, offsetof(struct sockaddr_un, sun_path) + 2);
	CHECK_EQ(strcmp(from.sun_path, "c"), 0);
	// Reply to the sender's name.
	CHECK_EQ(sendto(srv, "ok", 2, 0, (struct sockaddr *)&from, fl), 2);
	CHECK_EQ(recv(c, buf, sizeof buf, 0), 2);
	struct sockaddr_un none = {.sun_family = AF_UNIX, .sun_path = "nothing"};
	CHECK_ERR(sendto(c, "x", 1, 0, (struct sockaddr *)&none, sizeof none), ENOENT);

	// srv connects to c: others may no longer send to srv.
	CHECK_OK(connect(srv, (struct sockaddr *)&ca, sizeof ca));
	int o = socket(AF_UNIX, SOCK_DGRAM, 0);
	CHECK_ERR(sendto(o, "x", 1, 0, (struct sockaddr *)&sa, sizeof sa), EPERM);
	CHECK_ERR(connect(o, (struct sockaddr *)&sa, sizeof sa), EPERM);
	CHECK_EQ(sendto(c, "ok", 2, 0, (struct sockaddr *)&sa, sizeof sa), 2);
	CHECK_EQ(send(srv, "back", 4, 0), 4);
	CHECK_EQ(recv(c, buf, sizeof buf, 0), 4);
	socklen_t pl = sizeof from;
	CHECK_OK(getpeername(srv, (struct sockaddr *)&from, &pl));
	CHECK_EQ(strcmp(from.sun_path, "c"), 0);
	// The peer goes: one ECONNREFUSED, then ENOTCONN.
	close(c);
	CHECK_ERR(send(srv, "x", 1, 0), ECONNREFUSED);
	CHECK_ERR(send(srv, "x", 1, 0), ENOTCONN);
	// AF_UNSPEC dissolves an association.
	CHECK_OK(connect(o, (struct sockaddr *)&sa, sizeof sa));
	CHECK_OK(getpeername(o, (struct sockaddr *)&from, &pl));
	struct sockaddr unspec = {.sa_family = AF_UNSPEC};
	CHECK_OK(connect(o, &unspec, sizeof unspec));
	CHECK_ERR(getpeername(o, (struct sockaddr *)&from, &pl), ENOTCONN);
	close(o);
	close(srv);

	// A datagram socket refuses to connect to a stream socket's name.
	int l = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un la = {.sun_family = AF_UNIX, .sun_path = "l"};
	CHECK_OK(bind(l, (struct sockaddr *)&la, sizeof la));
	CHECK_OK(listen(l, 1));
	int d = socket(AF_UNIX, SOCK_DGRAM, 0);
	CHECK_ERR(connect(d, (struct sockaddr *)&la, sizeof la), EPROTOTYPE);
	int q = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	CHECK_ERR(connect(q, (struct sockaddr *)&la, sizeof la), EPROTOTYPE);
	return 0;
}
