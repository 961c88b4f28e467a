// inet_rcvlowat: SO_RCVLOWAT on a TCP socket. It reads back as set (0 as
// 1, a negative value as INT_MAX, TCP's capped at half its largest
// receive buffer); poll reports the socket readable only
// once that many bytes are queued, or when the peer shuts down; a
// blocking read takes what is queued and then waits for that many more
// to be queued (or as many as it asks for, if fewer); a non-blocking one
// returns what there is.
//
//go:build ignore

#include "inet_check.h"
#include "task_check.h"
#include <limits.h>

int main(void) {
	int c, a;
	tcp_pair(AF_INET, &c, &a);
	CHECK_EQ(getint(a, SOL_SOCKET, SO_RCVLOWAT), 1);
	setint(a, SOL_SOCKET, SO_RCVLOWAT, 0);
	CHECK_EQ(getint(a, SOL_SOCKET, SO_RCVLOWAT), 1);
	// At most half the largest receive buffer (tcp_rmem's maximum, or
	// SO_RCVBUF's once set); a UDP socket keeps any value.
	setint(a, SOL_SOCKET, SO_RCVLOWAT, -1);
	char rmem[64];
	CHECK(read_text("/proc/sys/net/ipv4/tcp_rmem", rmem, sizeof rmem) > 0);
	long lo, def, hi;
	CHECK_EQ(sscanf(rmem, "%ld %ld %ld", &lo, &def, &hi), 3);
	CHECK_EQ(getint(a, SOL_SOCKET, SO_RCVLOWAT), hi / 2);
	int u = socket(AF_INET, SOCK_DGRAM, 0);
	setint(u, SOL_SOCKET, SO_RCVLOWAT, -1);
	CHECK_EQ(getint(u, SOL_SOCKET, SO_RCVLOWAT), INT_MAX);
	close(u);
	int b = socket(AF_INET, SOCK_STREAM, 0);
	setint(b, SOL_SOCKET, SO_RCVBUF, 8192);
	setint(b, SOL_SOCKET, SO_RCVLOWAT, 1 << 20);
	CHECK_EQ(getint(b, SOL_SOCKET, SO_RCVLOWAT), getint(b, SOL_SOCKET, SO_RCVBUF) / 2);
	close(b);
	setint(a, SOL_SOCKET, SO_RCVLOWAT, 10);
	CHECK_EQ(getint(a, SOL_SOCKET, SO_RCVLOWAT), 10);

	// Five bytes: below the mark, not readable.
	CHECK(write(c, "12345", 5) == 5);
	CHECK_EQ(poll1(a, POLLIN, 200) & POLLIN, 0);
	// A blocking read takes those and waits for ten more to be queued
	// (tcp_data_ready wakes it only then).
	pid_t pid = XFORK();
	if (pid == 0) {
		usleep(200 * 1000);
		CHECK(write(c, "67890", 5) == 5);
		usleep(200 * 1000);
		CHECK(write(c, "ABCDE", 5) == 5);
		_exit(0);
	}
	char buf[100];
	CHECK(read(a, buf, sizeof buf) == 15);
	CHECK(memcmp(buf, "1234567890ABCDE", 15) == 0);
	WAIT_EXIT(pid, 0);

	// A read asking for fewer bytes than the mark gets them at once.
	CHECK(write(c, "abcde", 5) == 5);
	usleep(50 * 1000);
	CHECK(read(a, buf, 3) == 3);
	CHECK(memcmp(buf, "abc", 3) == 0);
	// A non-blocking one returns what there is.
	CHECK(recv(a, buf, sizeof buf, MSG_DONTWAIT) == 2);
	CHECK(memcmp(buf, "de", 2) == 0);

	// Ten queued: readable.
	CHECK(write(c, "0123456789", 10) == 10);
	CHECK(poll1(a, POLLIN, 1000) & POLLIN);
	CHECK(read(a, buf, sizeof buf) == 10);

	// The peer's shutdown makes a short queue readable, and the read
	// returns it, then the end.
	CHECK(write(c, "xy", 2) == 2);
	usleep(50 * 1000);
	CHECK_EQ(poll1(a, POLLIN, 100) & POLLIN, 0);
	CHECK_OK(shutdown(c, SHUT_WR));
	CHECK(poll1(a, POLLIN, 1000) & POLLIN);
	CHECK(read(a, buf, sizeof buf) == 2);
	CHECK(read(a, buf, sizeof buf) == 0);
	close(a);
	close(c);
	return 0;
}
