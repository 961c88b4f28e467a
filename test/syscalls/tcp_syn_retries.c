// tcp_syn_retries: a connect whose SYNs go unanswered fails with
// ETIMEDOUT after as many retransmissions as TCP_SYNCNT allows (1 here:
// about 3 s), blocking or not (poll reports the failure, SO_ERROR gives
// ETIMEDOUT once), and net.ipv4.tcp_syn_retries sets the count for
// sockets that do not. The SYNs go to a port whose packets the filter
// drops (iptables-legacy), in a fresh network namespace.
//
//go:build ignore

#include "net_sysctl_check.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>

#define IPTABLES "/usr/sbin/iptables-legacy"

static struct sockaddr_in blackhole = {.sin_family = AF_INET, .sin_port = 0};

static int newSocket(int syncnt, int flags) {
	int s = socket(AF_INET, SOCK_STREAM | flags, 0);
	CHECK(s >= 0);
	if (syncnt > 0)
		CHECK_OK(setsockopt(s, IPPROTO_TCP, TCP_SYNCNT, &syncnt, sizeof syncnt));
	return s;
}

int main(void) {
	enter_netns();
	if (access(IPTABLES, X_OK) != 0)
		FAIL("%s is missing: install Debian's iptables (make deps does)", IPTABLES);
	lo_up();
	CHECK_EQ(system(IPTABLES " -A OUTPUT -p tcp --dport 7 -j DROP"), 0);
	blackhole.sin_port = htons(7);
	blackhole.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

	// Blocking.
	int s = newSocket(1, 0);
	CHECK_ERR(connect(s, (struct sockaddr *)&blackhole, sizeof blackhole), ETIMEDOUT);
	close(s);

	// Non-blocking: in progress, then an error poll reports.
	s = newSocket(1, SOCK_NONBLOCK);
	CHECK_ERR(connect(s, (struct sockaddr *)&blackhole, sizeof blackhole), EINPROGRESS);
	struct pollfd p = {.fd = s, .events = POLLOUT};
	CHECK_EQ(poll(&p, 1, 20000), 1);
	CHECK(p.revents & POLLERR);
	int err = -1;
	socklen_t len = sizeof err;
	CHECK_OK(getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len));
	CHECK_EQ(err, ETIMEDOUT);
	CHECK_OK(getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len));
	CHECK_EQ(err, 0);
	close(s);

	// The namespace's default.
	CHECK_EQ(sysctl_put("net/ipv4/tcp_syn_retries", "1"), 0);
	s = newSocket(0, 0);
	int n = 0;
	len = sizeof n;
	CHECK_OK(getsockopt(s, IPPROTO_TCP, TCP_SYNCNT, &n, &len));
	CHECK_EQ(n, 1);
	CHECK_ERR(connect(s, (struct sockaddr *)&blackhole, sizeof blackhole), ETIMEDOUT);
	close(s);
	return 0;
}
