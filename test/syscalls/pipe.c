// pipe: data written to a pipe reads back in order, in pieces; reads of an
// empty pipe after the write end is closed return 0 (EOF); pipe2 O_CLOEXEC
// and O_NONBLOCK set the flags on both ends; unknown flags -> EINVAL; both
// ends are FIFOs.
//
//go:build ignore

#include "check.h"

int main(void) {
	int p[2];
	CHECK_EQ(pipe2(p, 0), 0);
	CHECK(p[0] >= 0 && p[1] >= 0 && p[0] != p[1]);
	CHECK_EQ(fcntl(p[0], F_GETFD), 0);
	CHECK_EQ(fcntl(p[0], F_GETFL) & O_NONBLOCK, 0);
	struct stat st;
	CHECK_EQ(fstat(p[0], &st), 0);
	CHECK(S_ISFIFO(st.st_mode));
	CHECK_EQ(fstat(p[1], &st), 0);
	CHECK(S_ISFIFO(st.st_mode));

	CHECK_EQ(write(p[1], "hello ", 6), 6);
	CHECK_EQ(write(p[1], "world", 5), 5);
	CHECK_EQ(write(p[1], "", 0), 0);
	char buf[32];
	CHECK_EQ(read(p[0], buf, 3), 3);
	CHECK_MEM(buf, "hel", 3);
	CHECK_EQ(read(p[0], buf, sizeof buf), 8); // the rest, across writes
	CHECK_MEM(buf, "lo world", 8);

	// 64 KiB in one direction, checked byte by byte, in chunks that fit.
	static unsigned char big[4096];
	for (int round = 0; round < 16; round++) {
		for (int i = 0; i < 4096; i++)
			big[i] = (unsigned char)(round * 7 + i);
		CHECK_EQ(write(p[1], big, sizeof big), sizeof big);
		memset(big, 0, sizeof big);
		size_t got = 0;
		while (got < sizeof big) {
			ssize_t n = read(p[0], big + got, sizeof big - got);
			CHECK(n > 0);
			got += n;
		}
		for (int i = 0; i < 4096; i++)
			if (big[i] != (unsigned char)(round * 7 + i))
				FAIL("round %d byte %d (got %d)", round, i, big[i]);
	}

	// EOF once the writer is gone (data first).
	CHECK_EQ(write(p[1], "xy", 2), 2);
	CHECK_EQ(close(p[1]), 0);
	CHECK_EQ(read(p[0], buf, sizeof buf), 2);
	CHECK_EQ(read(p[0], buf, sizeof buf), 0);
	CHECK_EQ(close(p[0]), 0);

	// pipe2 flags.
	CHECK_EQ(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
	for (int i = 0; i < 2; i++) {
		CHECK_EQ(fcntl(p[i], F_GETFD), FD_CLOEXEC);
		CHECK_EQ(fcntl(p[i], F_GETFL) & O_NONBLOCK, O_NONBLOCK);
	}
	CHECK_ERR(pipe2(p, O_APPEND), EINVAL);
	CHECK_ERR(pipe2(p, 0x1), EINVAL);
	CHECK_ERR(pipe2(bad_addr(), 0), EFAULT);
	return 0;
}
