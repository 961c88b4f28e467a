// lseek_data: on a file without holes SEEK_DATA returns the offset itself
// and SEEK_HOLE returns the file size (the implicit hole at EOF); at or past
// EOF both fail with ENXIO; an empty file has no data.
//
//go:build ignore

#include "check.h"

#ifndef SEEK_DATA
#define SEEK_DATA 3
#define SEEK_HOLE 4
#endif

int main(int argc, char **argv) {
	int fd = open(fixture(argc, argv, "small.txt"), O_RDONLY);
	CHECK(fd >= 0);
	CHECK_EQ(lseek(fd, 0, SEEK_DATA), 0);
	CHECK_EQ(lseek(fd, 5, SEEK_DATA), 5);
	CHECK_EQ(lseek(fd, 0, SEEK_CUR), 5);
	CHECK_EQ(lseek(fd, 0, SEEK_HOLE), SMALL_LEN);
	CHECK_EQ(lseek(fd, SMALL_LEN - 1, SEEK_HOLE), SMALL_LEN);
	CHECK_ERR(lseek(fd, SMALL_LEN, SEEK_DATA), ENXIO);
	CHECK_ERR(lseek(fd, SMALL_LEN, SEEK_HOLE), ENXIO);
	CHECK_ERR(lseek(fd, 1000, SEEK_DATA), ENXIO);
	CHECK_ERR(lseek(fd, -1, SEEK_DATA), ENXIO);

	int e = open(fixture(argc, argv, "empty"), O_RDONLY);
	CHECK(e >= 0);
	CHECK_ERR(lseek(e, 0, SEEK_DATA), ENXIO);
	CHECK_ERR(lseek(e, 0, SEEK_HOLE), ENXIO);

	int b = open(fixture(argc, argv, "big.bin"), O_RDONLY);
	CHECK(b >= 0);
	CHECK_EQ(lseek(b, 12345, SEEK_DATA), 12345);
	CHECK_EQ(lseek(b, 12345, SEEK_HOLE), BIG_LEN);
	return 0;
}
