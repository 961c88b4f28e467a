// net_sysctl_somaxconn: listen's backlog is capped by the namespace's
// net.core.somaxconn, and a listener's accept queue holds backlog + 1
// connections (sk_acceptq_is_full compares with >): past that, a
// client's SYN is dropped and its non-blocking connect stays in
// progress (its retransmissions too, while nobody accepts). With somaxconn 2, a
// listen(128) lets 3 of 6 clients connect and a listen(1) 2; raising
// somaxconn lets a new listen(128) take all 6.
//
//go:build ignore

#include "inet_check.h"
#include "net_sysctl_check.h"
#include <fcntl.h>

#define CLIENTS 6

// connected_clients starts CLIENTS non-blocking connects to a listener of
// backlog, one after the other, and counts those that complete. Each
// handshake is let finish before the next SYN (a SYN that comes while
// one is still under way finds room in the queue, on Linux too); once a
// client stays unconnected for 400 ms the queue is full, and the SYNs of
// the next ones are dropped, retransmitted or not, as long as nobody
// accepts.
static int connected_clients(int backlog) {
	int l = listener(AF_INET, backlog);
	int port = port_of(l);
	int c[CLIENTS];
	int full = 0;
	for (int i = 0; i < CLIENTS; i++) {
		c[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		CHECK(c[i] >= 0);
		struct sockaddr_in a = lo4(port);
		int r = connect(c[i], (struct sockaddr *)&a, sizeof a);
		CHECK(r == 0 || errno == EINPROGRESS);
		if (full)
			continue;
		if (poll1(c[i], POLLOUT, 400) & POLLOUT)
			msleep(20); // for the listener to queue the connection
		else
			full = 1;
	}
	int n = 0;
	for (int i = 0; i < CLIENTS; i++) {
		if (poll1(c[i], POLLOUT, 0) & POLLOUT) {
			CHECK_EQ(getint(c[i], SOL_SOCKET, SO_ERROR), 0);
			n++;
		}
		close(c[i]);
	}
	close(l);
	return n;
}

int main(void) {
	enter_netns();
	lo_up();
	SYSCTL_SET("net/core/somaxconn", "2");
	CHECK_EQ(connected_clients(128), 3);
	CHECK_EQ(connected_clients(1), 2);
	CHECK_EQ(connected_clients(-1), 3);
	SYSCTL_SET("net/core/somaxconn", "4096");
	CHECK_EQ(connected_clients(128), CLIENTS);
	return 0;
}
