// lseek: SEEK_SET/SEEK_CUR/SEEK_END compute the right offsets, seeking past
// EOF is allowed (reads there return 0); a negative result or an unknown
// whence -> EINVAL; pipes -> ESPIPE; bad fd -> EBADF.
//
//go:build ignore

#include "check.h"

int main(int argc, char **argv) {
	int fd = open(fixture(argc, argv, "small.txt"), O_RDONLY);
	CHECK(fd >= 0);
	char buf[16];
	CHECK_EQ(lseek(fd, 7, SEEK_SET), 7);
	CHECK_EQ(read(fd, buf, 6), 6);
	CHECK_MEM(buf, "cocoon", 6);
	CHECK_EQ(lseek(fd, 0, SEEK_CUR), 13);
	CHECK_EQ(lseek(fd, -13, SEEK_CUR), 0);
	CHECK_EQ(lseek(fd, 0, SEEK_END), SMALL_LEN);
	CHECK_EQ(lseek(fd, -7, SEEK_END), 7);
	CHECK_EQ(read(fd, buf, 1), 1);
	CHECK_EQ(buf[0], 'c');
	CHECK_EQ(lseek(fd, 100, SEEK_END), SMALL_LEN + 100);
	CHECK_EQ(read(fd, buf, sizeof buf), 0);
	CHECK_EQ(lseek(fd, (off_t)1 << 40, SEEK_SET), (off_t)1 << 40);
	CHECK_EQ(read(fd, buf, sizeof buf), 0);

	// Errors leave the offset alone.
	CHECK_EQ(lseek(fd, 3, SEEK_SET), 3);
	CHECK_ERR(lseek(fd, -1, SEEK_SET), EINVAL);
	CHECK_ERR(lseek(fd, -4, SEEK_CUR), EINVAL);
	CHECK_ERR(lseek(fd, -15, SEEK_END), EINVAL);
	CHECK_ERR(lseek(fd, 0, 42), EINVAL);
	CHECK_EQ(lseek(fd, 0, SEEK_CUR), 3);
	CHECK_EQ(read(fd, buf, 2), 2);
	CHECK_MEM(buf, "lo", 2);

	int p[2];
	CHECK_EQ(pipe(p), 0);
	CHECK_ERR(lseek(p[0], 0, SEEK_CUR), ESPIPE);
	CHECK_ERR(lseek(p[1], 0, SEEK_SET), ESPIPE);
	CHECK_ERR(lseek(1000, 0, SEEK_SET), EBADF);
	return 0;
}
