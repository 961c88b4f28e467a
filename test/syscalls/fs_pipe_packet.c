// fs_pipe_packet: a pipe created with O_DIRECT is in packet mode: each
// write is a packet and each read returns at most one packet (a short read
// discards the rest of that packet); without it a read merges writes;
// F_GETFL of the write end shows O_DIRECT; writes larger than PIPE_BUF are split into
// PIPE_BUF-sized packets.
//
//go:build ignore

#include "fs_check.h"

int main(void) {
	int p[2];
	CHECK_OK(pipe2(p, O_DIRECT | O_NONBLOCK));
	CHECK_EQ(fcntl(p[1], F_GETFL) & O_DIRECT, O_DIRECT); // the write end's flag
	CHECK_EQ(write(p[1], "one", 3), 3);
	CHECK_EQ(write(p[1], "two!", 4), 4);
	CHECK_EQ(write(p[1], "three", 5), 5);
	char buf[16];
	CHECK_EQ(read(p[0], buf, sizeof buf), 3);
	CHECK_MEM(buf, "one", 3);
	CHECK_EQ(read(p[0], buf, 2), 2); // short read: the rest is dropped
	CHECK_MEM(buf, "tw", 2);
	CHECK_EQ(read(p[0], buf, sizeof buf), 5);
	CHECK_MEM(buf, "three", 5);
	CHECK_ERR(read(p[0], buf, sizeof buf), EAGAIN);

	// Big writes become PIPE_BUF packets.
	static char big[3 * 4096];
	memset(big, 'b', sizeof big);
	CHECK_EQ(write(p[1], big, 10000), 10000);
	static char rbuf[65536];
	CHECK_EQ(read(p[0], rbuf, sizeof rbuf), 4096);
	CHECK_EQ(read(p[0], rbuf, sizeof rbuf), 4096);
	CHECK_EQ(read(p[0], rbuf, sizeof rbuf), 10000 - 8192);
	close(p[0]);
	close(p[1]);

	// Stream mode merges, and F_SETFL can switch packet mode on.
	CHECK_OK(pipe2(p, O_NONBLOCK));
	CHECK_EQ(fcntl(p[0], F_GETFL) & O_DIRECT, 0);
	CHECK_EQ(write(p[1], "ab", 2), 2);
	CHECK_EQ(write(p[1], "cd", 2), 2);
	CHECK_EQ(read(p[0], buf, sizeof buf), 4);
	CHECK_OK(fcntl(p[1], F_SETFL, O_DIRECT | O_NONBLOCK));
	CHECK_EQ(write(p[1], "ef", 2), 2);
	CHECK_EQ(write(p[1], "gh", 2), 2);
	CHECK_EQ(read(p[0], buf, sizeof buf), 2);
	CHECK_EQ(read(p[0], buf, sizeof buf), 2);
	close(p[0]);
	close(p[1]);
	return 0;
}
