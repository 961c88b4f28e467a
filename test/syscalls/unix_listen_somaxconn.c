// unix_listen_somaxconn: listen on an AF_UNIX socket caps the backlog
// with the net.core.somaxconn of the socket's network namespace (the one
// it was made in: __sys_listen reads sock_net's), and a listener queues
// backlog + 1 connections (unix_recvq_full compares with >) before a
// non-blocking connect is EAGAIN. With somaxconn 2 in a new namespace, a
// socket made there queues 3 connections after listen(100), 2 after
// listen(1); one made before the unshare keeps its namespace's cap.
//
//go:build ignore

#include "net_sysctl_check.h"
#include <stddef.h>
#include <sys/un.h>

static int seq;

#define MAXC 16

static int unix_socket(int flags) {
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | flags, 0);
	CHECK(s >= 0);
	return s;
}

// queued binds s to a fresh abstract name, listens with backlog and
// counts the connections clients (MAXC, made in s's namespace: abstract
// names are per namespace; NULL: made here) queue before connect is
// EAGAIN.
static int queued(int s, int backlog, int *clients) {
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int len = snprintf(a.sun_path + 1, sizeof a.sun_path - 1, "cocoon-somaxconn-%d-%d", (int)getpid(), seq++);
	socklen_t alen = offsetof(struct sockaddr_un, sun_path) + 1 + len;
	CHECK_OK(bind(s, (struct sockaddr *)&a, alen));
	CHECK_OK(listen(s, backlog));
	int c[MAXC], n = 0;
	for (; n < MAXC; n++) {
		c[n] = clients ? clients[n] : unix_socket(SOCK_NONBLOCK);
		if (connect(c[n], (struct sockaddr *)&a, alen) != 0) {
			CHECK_EQ(errno, EAGAIN);
			break;
		}
	}
	for (int i = 0; i < n + (n < MAXC); i++)
		close(c[i]);
	for (int i = n + 1; clients && i < MAXC; i++)
		close(clients[i]);
	close(s);
	return n;
}

int main(void) {
	int before = unix_socket(0), clients[MAXC];
	for (int i = 0; i < MAXC; i++)
		clients[i] = unix_socket(SOCK_NONBLOCK);
	enter_netns();
	SYSCTL_SET("net/core/somaxconn", "2");
	CHECK_EQ(queued(unix_socket(0), 100, NULL), 3);
	CHECK_EQ(queued(unix_socket(0), 1, NULL), 2);
	CHECK_EQ(queued(unix_socket(0), -1, NULL), 3);
	// The initial namespace's cap (4096 by default; at least MAXC on any
	// usable host) applies to the socket made there.
	CHECK_EQ(queued(before, 100, clients), MAXC);
	SYSCTL_SET("net/core/somaxconn", "4096");
	CHECK_EQ(queued(unix_socket(0), 100, NULL), MAXC);
	return 0;
}
