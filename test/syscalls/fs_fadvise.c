// fs_fadvise: posix_fadvise accepts every advice on a regular file (any
// access mode, ranges past EOF, len 0 = to the end) and returns the error
// number directly: EINVAL for an unknown advice or negative length, ESPIPE
// for a pipe, EBADF for a bad fd; the data is unaffected by DONTNEED.
//
//go:build ignore

#include "fs_check.h"

int main(void) {
	scratch_cd();
	make_file("f", 0644, "advice", 6);
	int fd = open("f", O_RDWR);
	CHECK(fd >= 0);
	int adv[] = {POSIX_FADV_NORMAL, POSIX_FADV_SEQUENTIAL, POSIX_FADV_RANDOM,
		     POSIX_FADV_NOREUSE, POSIX_FADV_WILLNEED, POSIX_FADV_DONTNEED};
	for (unsigned i = 0; i < sizeof adv / sizeof adv[0]; i++) {
		CHECK_EQ(posix_fadvise(fd, 0, 0, adv[i]), 0);
		CHECK_EQ(posix_fadvise(fd, 1 << 20, 4096, adv[i]), 0);
	}
	int wo = open("f", O_WRONLY);
	CHECK(wo >= 0);
	CHECK_EQ(posix_fadvise(wo, 0, 0, POSIX_FADV_WILLNEED), 0);

	char buf[8];
	CHECK_EQ(pread(fd, buf, sizeof buf, 0), 6);
	CHECK_MEM(buf, "advice", 6);

	CHECK_EQ(posix_fadvise(fd, 0, 0, 42), EINVAL);
	CHECK_EQ(posix_fadvise(fd, 0, -1, POSIX_FADV_NORMAL), EINVAL);
	CHECK_EQ(posix_fadvise(1000, 0, 0, POSIX_FADV_NORMAL), EBADF);
	int p[2];
	CHECK_OK(pipe(p));
	CHECK_EQ(posix_fadvise(p[0], 0, 0, POSIX_FADV_NORMAL), ESPIPE);
	// The raw syscall reports -1/errno.
	CHECK_ERR(syscall(SYS_fadvise64, p[0], 0, 0, POSIX_FADV_NORMAL), ESPIPE);
	CHECK_EQ(syscall(SYS_fadvise64, fd, 0, 0, POSIX_FADV_SEQUENTIAL), 0);
	close(p[0]);
	close(p[1]);
	close(wo);
	close(fd);
	return 0;
}
