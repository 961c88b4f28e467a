// splice_socket: splice between a pipe and a TCP socket loses nothing when
// the other side takes less than offered. From a pipe into a socket whose
// send buffer is full, a non-blocking splice moves what the socket takes
// (or says EAGAIN) and the rest stays in the pipe; from a socket into a
// pipe with little room, it moves what fits and the rest stays in the
// socket. Every byte arrives once, in order (Go's net package splices
// TCP to TCP through a pipe this way).
//
//go:build ignore

#define _GNU_SOURCE
#include "inet_check.h"
#include <fcntl.h>
#include <sys/ioctl.h>

static unsigned char pattern(size_t i) { return (unsigned char)(i * 13 + (i >> 10)); }

static int pipe_bytes(int fd) {
	int n = -1;
	CHECK_OK(ioctl(fd, FIONREAD, &n));
	return n;
}

// pipe_to_socket splices a pipe's 64 KiB into a socket whose send buffer is
// full, then drains the peer and splices the rest; the peer must get all
// of it in order.
static void pipe_to_socket(void) {
	int c, a;
	tcp_pair(AF_INET, &c, &a);
	int small = 4096;
	CHECK_OK(setsockopt(c, SOL_SOCKET, SO_SNDBUF, &small, sizeof small));
	CHECK_OK(fcntl(c, F_SETFL, O_NONBLOCK));
	// Fill the connection with filler the peer reads first.
	static char filler[1 << 16];
	size_t filled = 0;
	for (;;) {
		ssize_t n = write(c, filler, sizeof filler);
		if (n < 0) {
			CHECK_EQ(errno, EAGAIN);
			break;
		}
		filled += n;
	}

	int p[2];
	CHECK_OK(pipe2(p, O_NONBLOCK));
	static unsigned char data[65536];
	for (size_t i = 0; i < sizeof data; i++)
		data[i] = pattern(i);
	CHECK_EQ(write(p[1], data, sizeof data), (ssize_t)sizeof data);

	ssize_t moved = splice(p[0], NULL, c, NULL, sizeof data, SPLICE_F_NONBLOCK);
	if (moved < 0) {
		CHECK_EQ(errno, EAGAIN);
		moved = 0;
	}
	CHECK_EQ(pipe_bytes(p[0]), (int)(sizeof data - moved));

	// Drain the peer while splicing the rest.
	static unsigned char got[sizeof filler * 64 + sizeof data];
	size_t total = filled + sizeof data, have = 0;
	CHECK(total <= sizeof got);
	for (int rounds = 0; have < total; rounds++) {
		CHECK(rounds < 100000);
		if (pipe_bytes(p[0]) > 0) {
			ssize_t n = splice(p[0], NULL, c, NULL, sizeof data, SPLICE_F_NONBLOCK);
			if (n < 0)
				CHECK_EQ(errno, EAGAIN);
		}
		if (poll1(a, POLLIN, 1000) & POLLIN) {
			ssize_t n = read(a, got + have, total - have);
			CHECK(n > 0);
			have += n;
		}
	}
	CHECK_EQ(pipe_bytes(p[0]), 0);
	CHECK_MEM(got + filled, data, sizeof data);
	close(p[0]);
	close(p[1]);
	close(c);
	close(a);
}

// socket_to_pipe splices 10 KiB waiting in a socket into a pipe with 4 KiB
// of room: what does not fit stays in the socket.
static void socket_to_pipe(void) {
	int c, a;
	tcp_pair(AF_INET, &c, &a);
	static unsigned char data[10240];
	for (size_t i = 0; i < sizeof data; i++)
		data[i] = pattern(i);
	CHECK_EQ(write(c, data, sizeof data), (ssize_t)sizeof data);
	CHECK(poll1(a, POLLIN, 2000) & POLLIN);
	for (int i = 0; i < 200; i++) {
		int q = 0;
		CHECK_OK(ioctl(a, FIONREAD, &q));
		if (q == (int)sizeof data)
			break;
		usleep(1000);
	}

	int p[2];
	CHECK_OK(pipe2(p, O_NONBLOCK));
	static char filler[61440];
	CHECK_EQ(write(p[1], filler, sizeof filler), (ssize_t)sizeof filler);
	ssize_t moved = splice(a, NULL, p[1], NULL, sizeof data, SPLICE_F_NONBLOCK);
	if (moved < 0) {
		CHECK_EQ(errno, EAGAIN);
		moved = 0;
	}
	CHECK(moved <= (ssize_t)sizeof data);
	int q = -1;
	CHECK_OK(ioctl(a, FIONREAD, &q));
	CHECK_EQ(q, (int)(sizeof data - moved));
	CHECK_EQ(pipe_bytes(p[0]), (int)(sizeof filler + moved));

	// The pipe's bytes, then the socket's, are the data in order.
	static unsigned char got[sizeof filler + sizeof data];
	CHECK_EQ(read(p[0], got, sizeof got), (ssize_t)(sizeof filler + moved));
	CHECK_EQ(read(a, got + sizeof filler + moved, sizeof data - moved), (ssize_t)(sizeof data - moved));
	CHECK_MEM(got + sizeof filler, data, sizeof data);
	close(p[0]);
	close(p[1]);
	close(c);
	close(a);
}

int main(void) {
	pipe_to_socket();
	socket_to_pipe();
	return 0;
}
