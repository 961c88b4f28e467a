// unix_poll: readiness of unix sockets for poll and epoll, as Linux's
// unix_poll/unix_dgram_poll report it: a fresh stream socket is
// POLLOUT|POLLHUP, a listener is POLLIN with a pending connection, a
// connected socket POLLOUT and POLLIN with data; SHUT_RD gives
// POLLIN|POLLRDHUP; a peer's close gives POLLHUP (and POLLERR with unread
// data); epoll wakes a waiter when data arrives from a child.
//
//go:build ignore

#include "fs_check.h"
#include <stddef.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>

static short revents(int fd, short events) {
	struct pollfd p = {.fd = fd, .events = events};
	CHECK(poll(&p, 1, 0) >= 0);
	return p.revents;
}

#define ALL (POLLIN | POLLOUT | POLLRDHUP)

int main(void) {
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK_EQ(revents(s, ALL), POLLOUT | POLLHUP);
	int d = socket(AF_UNIX, SOCK_DGRAM, 0);
	CHECK_EQ(revents(d, ALL), POLLOUT);
	int q = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	CHECK_EQ(revents(q, ALL), POLLOUT | POLLHUP);

	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int n = snprintf(a.sun_path + 1, sizeof a.sun_path - 1, "cocoon-poll-%d", getpid());
	socklen_t alen = offsetof(struct sockaddr_un, sun_path) + 1 + n;
	CHECK_OK(bind(s, (struct sockaddr *)&a, alen));
	CHECK_OK(listen(s, 4));
	CHECK_EQ(revents(s, ALL), 0);
	int c = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK_OK(connect(c, (struct sockaddr *)&a, alen));
	CHECK_EQ(revents(s, ALL), POLLIN);
	CHECK_EQ(revents(c, ALL), POLLOUT);
	int e = accept(s, NULL, NULL);
	CHECK(e >= 0);
	CHECK_EQ(revents(s, ALL), 0);
	CHECK_EQ(write(c, "x", 1), 1);
	CHECK_EQ(revents(e, ALL), POLLIN | POLLOUT);
	CHECK_OK(shutdown(e, SHUT_RD));
	CHECK_EQ(revents(e, ALL), POLLIN | POLLOUT | POLLRDHUP);
	// e closes with c's byte unread: c is reset (POLLERR).
	close(e);
	CHECK_EQ(revents(c, ALL), POLLIN | POLLOUT | POLLRDHUP | POLLHUP | POLLERR);
	close(c);

	int sv[2];
	CHECK_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	CHECK_EQ(write(sv[1], "y", 1), 1);
	close(sv[0]);
	CHECK_EQ(revents(sv[1], ALL), POLLIN | POLLOUT | POLLRDHUP | POLLHUP | POLLERR);
	close(sv[1]);

	CHECK_OK(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv));
	close(sv[1]);
	CHECK_EQ(revents(sv[0], ALL), POLLIN | POLLOUT | POLLRDHUP | POLLHUP);
	close(sv[0]);

	// epoll: a blocked epoll_wait wakes when a child writes.
	CHECK_OK(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
	int ep = epoll_create1(0);
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = sv[0]};
	CHECK_OK(epoll_ctl(ep, EPOLL_CTL_ADD, sv[0], &ev));
	CHECK_EQ(epoll_wait(ep, &ev, 1, 0), 0);
	pid_t pid = XFORK();
	if (pid == 0) {
		msleep(20);
		_exit(send(sv[1], "dg", 2, 0) == 2 ? 0 : 1);
	}
	CHECK_EQ(epoll_wait(ep, &ev, 1, 5000), 1);
	CHECK_EQ(ev.events, EPOLLIN);
	CHECK_EQ(ev.data.fd, sv[0]);
	WAIT_EXIT(pid, 0);
	char buf[4];
	CHECK_EQ(recv(sv[0], buf, sizeof buf, 0), 2);
	CHECK_EQ(epoll_wait(ep, &ev, 1, 0), 0);

	// A blocked poll wakes when the peer of a stream closes.
	CHECK_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	pid = XFORK();
	if (pid == 0) {
		msleep(20);
		_exit(0);
	}
	close(sv[1]);
	// The child holds sv[1] until it exits.
	struct pollfd p = {.fd = sv[0], .events = POLLIN};
	CHECK_EQ(poll(&p, 1, 5000), 1);
	CHECK_EQ(p.revents, POLLIN | POLLHUP);
	WAIT_EXIT(pid, 0);
	return 0;
}
