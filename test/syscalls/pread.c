// pread: pread64 reads at an absolute offset without moving the file
// offset; past EOF it returns 0, straddling EOF it is short; negative offset
// -> EINVAL; pipes -> ESPIPE; directories -> EISDIR; pwrite64 on a read-only
// fd -> EBADF.
//
//go:build ignore

#include "check.h"

int main(int argc, char **argv) {
	int fd = open(fixture(argc, argv, "big.bin"), O_RDONLY);
	CHECK(fd >= 0);
	unsigned char buf[4096];
	CHECK_EQ(read(fd, buf, 10), 10);
	long offs[] = {0, 1, 250, 251, 4095, 4096, 500000, BIG_LEN - 4096};
	for (unsigned i = 0; i < sizeof offs / sizeof offs[0]; i++) {
		CHECK_EQ(pread(fd, buf, sizeof buf, offs[i]), sizeof buf);
		for (int j = 0; j < (int)sizeof buf; j++)
			if (buf[j] != (offs[i] + j) % 251)
				FAIL("pread at %ld byte %d (got %d want %ld)", offs[i], j, buf[j], (offs[i] + j) % 251);
	}
	CHECK_EQ(lseek(fd, 0, SEEK_CUR), 10); // unchanged
	CHECK_EQ(pread(fd, buf, sizeof buf, BIG_LEN - 100), 100);
	CHECK_EQ(buf[99], (BIG_LEN - 1) % 251);
	CHECK_EQ(pread(fd, buf, sizeof buf, BIG_LEN), 0);
	CHECK_EQ(pread(fd, buf, sizeof buf, (long)1 << 40), 0);
	CHECK_EQ(pread(fd, buf, 0, 5), 0);
	CHECK_ERR(pread(fd, buf, 1, -1), EINVAL);
	CHECK_ERR(pwrite(fd, buf, 1, 0), EBADF);
	CHECK_EQ(read(fd, buf, 1), 1);
	CHECK_EQ(buf[0], 10);

	int p[2];
	CHECK_EQ(pipe(p), 0);
	CHECK_ERR(pread(p[0], buf, 1, 0), ESPIPE);
	CHECK_ERR(pwrite(p[1], buf, 1, 0), ESPIPE);
	int d = open(argv[1], O_RDONLY | O_DIRECTORY);
	CHECK(d >= 0);
	CHECK_ERR(pread(d, buf, 1, 0), EISDIR);
	CHECK_EQ(close(fd), 0);
	CHECK_ERR(pread(fd, buf, 1, 0), EBADF);
	return 0;
}
