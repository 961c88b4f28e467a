// fs_readahead: readahead on a regular file returns 0 (also past EOF and
// with a read-only fd), does not move the file offset, and is EBADF for a
// bad or write-only fd and EINVAL for a pipe or directory.
//
//go:build ignore

#include "fs_check.h"

int main(void) {
	scratch_cd();
	static char data[65536];
	memset(data, 'r', sizeof data);
	make_file("f", 0644, data, sizeof data);
	int fd = open("f", O_RDONLY);
	CHECK(fd >= 0);
	CHECK_EQ(lseek(fd, 123, SEEK_SET), 123);
	CHECK_OK(readahead(fd, 0, sizeof data));
	CHECK_OK(readahead(fd, 4096, 100));
	CHECK_OK(readahead(fd, 1 << 30, 4096)); // past EOF
	CHECK_OK(readahead(fd, 0, 0));
	CHECK_EQ(lseek(fd, 0, SEEK_CUR), 123);
	char buf[16];
	CHECK_EQ(read(fd, buf, sizeof buf), 16);
	CHECK_FILL(buf, 'r', 16);

	int rw = open("f", O_RDWR);
	CHECK(rw >= 0);
	CHECK_OK(readahead(rw, 0, 4096));
	int wo = open("f", O_WRONLY);
	CHECK(wo >= 0);
	CHECK_ERR(readahead(wo, 0, 4096), EBADF);
	CHECK_ERR(readahead(1000, 0, 4096), EBADF);
	int p[2];
	CHECK_OK(pipe(p));
	CHECK_ERR(readahead(p[0], 0, 4096), EINVAL);
	int d = open(".", O_RDONLY | O_DIRECTORY);
	CHECK(d >= 0);
	CHECK_ERR(readahead(d, 0, 4096), EINVAL);
	close(d);
	close(p[0]);
	close(p[1]);
	close(wo);
	close(rw);
	close(fd);
	return 0;
}
