// fs_rw_offsets: writes past EOF leave a zero-filled gap and move the size;
// reads at or past EOF return 0; short reads near EOF return what is left;
// lseek SEEK_END/SEEK_CUR follow the size; offsets near 2^40 work for
// pwrite/pread (sparse), and negative results of lseek are EINVAL.
//
//go:build ignore

#include "fs_check.h"

int main(void) {
	scratch_cd();
	int fd = open("f", O_RDWR | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0);
	CHECK_EQ(write(fd, "head", 4), 4);
	CHECK_EQ(lseek(fd, 10, SEEK_END), 14);
	CHECK_EQ(write(fd, "tail", 4), 4);
	CHECK_EQ(lseek(fd, 0, SEEK_END), 18);
	char buf[64];
	CHECK_EQ(pread(fd, buf, sizeof buf, 0), 18);
	CHECK_MEM(buf, "head", 4);
	CHECK_FILL(buf + 4, 0, 10);
	CHECK_MEM(buf + 14, "tail", 4);

	CHECK_EQ(pread(fd, buf, sizeof buf, 18), 0);
	CHECK_EQ(pread(fd, buf, sizeof buf, 1000), 0);
	CHECK_EQ(pread(fd, buf, sizeof buf, 16), 2);
	CHECK_EQ(lseek(fd, -2, SEEK_END), 16);
	CHECK_EQ(read(fd, buf, sizeof buf), 2);
	CHECK_EQ(read(fd, buf, sizeof buf), 0);
	CHECK_EQ(lseek(fd, -3, SEEK_CUR), 15);
	CHECK_ERR(lseek(fd, -100, SEEK_CUR), EINVAL);
	CHECK_ERR(lseek(fd, -19, SEEK_END), EINVAL);
	CHECK_EQ(lseek(fd, 0, SEEK_CUR), 15);

	// Far offsets (sparse).
	long long far = 1LL << 40;
	CHECK_EQ(pwrite(fd, "far", 3, far), 3);
	struct stat st;
	CHECK_OK(fstat(fd, &st));
	CHECK_EQ(st.st_size, far + 3);
	CHECK_EQ(pread(fd, buf, 8, far - 5), 8);
	CHECK_FILL(buf, 0, 5);
	CHECK_MEM(buf + 5, "far", 3);
	CHECK_EQ(lseek(fd, 0, SEEK_END), far + 3);

	// Zero-length reads and writes at any offset succeed without effect.
	CHECK_EQ(pwrite(fd, "", 0, far * 2), 0);
	CHECK_OK(fstat(fd, &st));
	CHECK_EQ(st.st_size, far + 3);
	CHECK_EQ(write(fd, buf, 0), 0);
	CHECK_EQ(read(fd, buf, 0), 0);

	// A read-only fd cannot write, a write-only fd cannot read.
	int ro = open("f", O_RDONLY), wo = open("f", O_WRONLY);
	CHECK(ro >= 0 && wo >= 0);
	CHECK_ERR(write(ro, "x", 1), EBADF);
	CHECK_ERR(read(wo, buf, 1), EBADF);
	CHECK_ERR(pread(wo, buf, 1, 0), EBADF);
	close(ro);
	close(wo);
	close(fd);
	return 0;
}
