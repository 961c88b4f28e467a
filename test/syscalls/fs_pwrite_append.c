// fs_pwrite_append: on Linux, pwrite/pwritev on an O_APPEND descriptor
// ignore the offset and append (a documented bug in pwrite(2)), without
// moving the file offset; pread still reads at the given offset; pwrite
// with a negative offset is EINVAL, on a pipe ESPIPE.
//
//go:build ignore

#include "fs_check.h"

int main(void) {
	scratch_cd();
	make_file("f", 0644, "abcdef", 6);
	int fd = open("f", O_RDWR | O_APPEND);
	CHECK(fd >= 0);
	CHECK_EQ(pwrite(fd, "XY", 2, 1), 2);
	CHECK_EQ(lseek(fd, 0, SEEK_CUR), 0);
	char buf[32];
	CHECK_EQ(pread(fd, buf, sizeof buf, 0), 8);
	CHECK_MEM(buf, "abcdefXY", 8);
	CHECK_EQ(pread(fd, buf, 2, 6), 2);
	CHECK_MEM(buf, "XY", 2);

	struct iovec iov[2] = {{"1", 1}, {"23", 2}};
	CHECK_EQ(pwritev(fd, iov, 2, 0), 3);
	CHECK_EQ(slurp("f", buf, sizeof buf), 11);
	CHECK_MEM(buf, "abcdefXY123", 11);
	CHECK_EQ(lseek(fd, 0, SEEK_CUR), 0);

	// Without O_APPEND, pwrite writes in place.
	int w = open("f", O_WRONLY);
	CHECK(w >= 0);
	CHECK_EQ(pwrite(w, "__", 2, 1), 2);
	CHECK_EQ(lseek(w, 0, SEEK_CUR), 0);
	CHECK_EQ(slurp("f", buf, sizeof buf), 11);
	CHECK_MEM(buf, "a__defXY123", 11);

	CHECK_ERR(pwrite(w, "x", 1, -1), EINVAL);
	CHECK_ERR(pread(fd, buf, 1, -5), EINVAL);
	int p[2];
	CHECK_OK(pipe(p));
	CHECK_ERR(pwrite(p[1], "x", 1, 0), ESPIPE);
	CHECK_ERR(pread(p[0], buf, 1, 0), ESPIPE);
	close(p[0]);
	close(p[1]);
	close(w);
	close(fd);
	return 0;
}
