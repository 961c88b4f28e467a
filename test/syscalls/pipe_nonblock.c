// pipe_nonblock: with O_NONBLOCK, reading an empty pipe -> EAGAIN (not EOF
// while a writer exists), writes fill the pipe until EAGAIN (capacity at
// least PIPE_BUF), and everything written reads back intact.
//
//go:build ignore

#include "check.h"
#include <limits.h>

int main(void) {
	int p[2];
	CHECK_EQ(pipe2(p, O_NONBLOCK), 0);
	char c;
	CHECK_ERR(read(p[0], &c, 1), EAGAIN);

	static unsigned char chunk[1000];
	long total = 0;
	for (;;) {
		for (int i = 0; i < (int)sizeof chunk; i++)
			chunk[i] = (unsigned char)((total + i) % 253);
		ssize_t n = write(p[1], chunk, sizeof chunk);
		if (n < 0) {
			CHECK_EQ(errno, EAGAIN);
			break;
		}
		CHECK(n > 0 && n <= (ssize_t)sizeof chunk);
		total += n;
		if (total > (64 << 20))
			FAIL("pipe never filled up (%ld bytes written)", total);
	}
	// A 1000-byte write (<= PIPE_BUF) is atomic, so single bytes may still
	// fit: top the pipe up byte by byte.
	for (;;) {
		unsigned char b = (unsigned char)(total % 253);
		ssize_t n = write(p[1], &b, 1);
		if (n < 0) {
			CHECK_EQ(errno, EAGAIN);
			break;
		}
		CHECK_EQ(n, 1);
		total++;
		if (total > (64 << 20))
			FAIL("pipe never filled up (%ld bytes written)", total);
	}
	if (total < PIPE_BUF)
		FAIL("pipe capacity %ld < PIPE_BUF", total);
	CHECK_ERR(write(p[1], "x", 1), EAGAIN); // still full

	// Drain and verify.
	long got = 0;
	for (;;) {
		ssize_t n = read(p[0], chunk, sizeof chunk);
		if (n < 0) {
			CHECK_EQ(errno, EAGAIN);
			break;
		}
		for (ssize_t i = 0; i < n; i++)
			if (chunk[i] != (unsigned char)((got + i) % 253))
				FAIL("byte %ld (got %d want %ld)", got + i, chunk[i], (got + i) % 253);
		got += n;
	}
	CHECK_EQ(got, total);

	// Room again; clearing O_NONBLOCK on the read end keeps the data.
	CHECK_EQ(write(p[1], "ok", 2), 2);
	CHECK_EQ(fcntl(p[0], F_SETFL, 0), 0);
	char buf[4];
	CHECK_EQ(read(p[0], buf, sizeof buf), 2);
	CHECK_MEM(buf, "ok", 2);
	CHECK_EQ(close(p[1]), 0);
	CHECK_EQ(fcntl(p[0], F_SETFL, O_NONBLOCK), 0);
	CHECK_EQ(read(p[0], buf, sizeof buf), 0); // EOF beats EAGAIN
	return 0;
}
