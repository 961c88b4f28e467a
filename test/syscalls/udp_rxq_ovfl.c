// udp_rxq_ovfl: SO_RXQ_OVFL. Any socket takes the flag (TCP too, which
// never reports); a UDP socket's recvmsg then carries the count of
// datagrams it dropped for want of room, once there are some: none before
// the first drop, and the number dropped with a datagram that came after
// them.
//
//go:build ignore

#include "check.h"
#include "inet_check.h"
#include <netinet/in.h>
#include <sys/socket.h>

// recv_drops reads one datagram and returns its SO_RXQ_OVFL count, -1
// when there is none.
static long recv_drops(int s) {
	char data[2048], control[256];
	struct iovec iov = {data, sizeof data};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control};
	CHECK(poll1(s, POLLIN, 5000) & POLLIN);
	CHECK(recvmsg(s, &m, 0) >= 0);
	CHECK_EQ(m.msg_flags & MSG_CTRUNC, 0);
	long drops = -1;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) {
			CHECK_EQ(c->cmsg_len, CMSG_LEN(sizeof(uint32_t)));
			uint32_t v;
			memcpy(&v, CMSG_DATA(c), sizeof v);
			drops = v;
		}
	}
	return drops;
}

int main(void) {
	int t = socket(AF_INET, SOCK_STREAM, 0);
	CHECK_EQ(getint(t, SOL_SOCKET, SO_RXQ_OVFL), 0);
	setint(t, SOL_SOCKET, SO_RXQ_OVFL, 1);
	CHECK_EQ(getint(t, SOL_SOCKET, SO_RXQ_OVFL), 1);
	close(t);

	int r = socket(AF_INET, SOCK_DGRAM, 0);
	bind_lo(r, AF_INET, 0);
	setint(r, SOL_SOCKET, SO_RCVBUF, 4096);
	CHECK_EQ(getint(r, SOL_SOCKET, SO_RXQ_OVFL), 0);
	setint(r, SOL_SOCKET, SO_RXQ_OVFL, 7);
	CHECK_EQ(getint(r, SOL_SOCKET, SO_RXQ_OVFL), 1);
	int w = socket(AF_INET, SOCK_DGRAM, 0);
	CHECK_EQ(connect_to(w, AF_INET, port_of(r)), 0);

	// No drops yet: no count.
	char payload[1000] = {0};
	CHECK_EQ(send(w, payload, sizeof payload, 0), (ssize_t)sizeof payload);
	CHECK_EQ(recv_drops(r), -1);

	// Overflow the small buffer, then read what it kept.
	enum { sent = 200 };
	for (int i = 0; i < sent; i++)
		CHECK_EQ(send(w, payload, sizeof payload, 0), (ssize_t)sizeof payload);
	int kept = 0;
	char buf[2048];
	while (recv(r, buf, sizeof buf, MSG_DONTWAIT) >= 0)
		kept++;
	CHECK_EQ(errno, EAGAIN);
	CHECK(kept > 0 && kept < sent);

	// A datagram after the drops carries their count.
	CHECK_EQ(send(w, payload, 10, 0), 10);
	CHECK_EQ(recv_drops(r), sent - kept);

	// Off again: no count.
	setint(r, SOL_SOCKET, SO_RXQ_OVFL, 0);
	CHECK_EQ(send(w, payload, 10, 0), 10);
	CHECK_EQ(recv_drops(r), -1);
	return 0;
}
