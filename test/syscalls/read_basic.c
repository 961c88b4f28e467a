// read_basic: sequential read(2) returns the file's bytes in order, short
// counts at EOF, then 0; a zero-length read returns 0; O_CLOEXEC and
// O_NONBLOCK on open are visible via fcntl; read into a bad buffer ->
// EFAULT; read after close -> EBADF; a 1 MiB file reads back exactly.
//
//go:build ignore

#include "check.h"

int main(int argc, char **argv) {
	char buf[64];
	int fd = open(fixture(argc, argv, "small.txt"), O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 0);
	CHECK_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC);
	CHECK_EQ(read(fd, buf, 0), 0);
	CHECK_EQ(read(fd, buf, 5), 5);
	CHECK_MEM(buf, "hello", 5);
	CHECK_EQ(read(fd, buf, sizeof buf), SMALL_LEN - 5);
	CHECK_MEM(buf, SMALL_TXT + 5, SMALL_LEN - 5);
	CHECK_EQ(read(fd, buf, sizeof buf), 0);
	CHECK_EQ(read(fd, buf, sizeof buf), 0);
	CHECK_EQ(lseek(fd, 0, SEEK_SET), 0);
	CHECK_ERR(read(fd, bad_addr(), 4), EFAULT);
	CHECK_EQ(close(fd), 0);
	CHECK_ERR(read(fd, buf, 1), EBADF);

	fd = open(fixture(argc, argv, "empty"), O_RDONLY | O_NONBLOCK);
	CHECK(fd >= 0);
	CHECK_EQ(fcntl(fd, F_GETFD), 0);
	CHECK_EQ(fcntl(fd, F_GETFL) & (O_ACCMODE | O_NONBLOCK), O_RDONLY | O_NONBLOCK);
	CHECK_EQ(read(fd, buf, sizeof buf), 0);
	CHECK_EQ(close(fd), 0);

	// 1 MiB in odd-sized chunks.
	fd = open(fixture(argc, argv, "big.bin"), O_RDONLY);
	CHECK(fd >= 0);
	static unsigned char chunk[7777];
	long total = 0;
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof chunk);
		CHECK(n >= 0);
		if (n == 0)
			break;
		for (ssize_t i = 0; i < n; i++)
			if (chunk[i] != (total + i) % 251)
				FAIL("big.bin byte %ld (got %d want %ld)", total + i, chunk[i], (total + i) % 251);
		total += n;
	}
	CHECK_EQ(total, BIG_LEN);
	return 0;
}
