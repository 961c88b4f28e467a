// fs_fallocate: fallocate mode 0 extends the size and the range reads as
// zeros; FALLOC_FL_KEEP_SIZE allocates (more blocks) without changing the
// size; PUNCH_HOLE (only together with KEEP_SIZE, else EOPNOTSUPP) zeroes a
// range and keeps the size; bad ranges EINVAL, a read-only fd EBADF, a
// pipe ESPIPE. ext4 and tmpfs support all three modes.
//
//go:build ignore

#include "fs_check.h"
#include <linux/falloc.h>

int main(void) {
	scratch_cd();
	int fd = open("f", O_RDWR | O_CREAT, 0644);
	CHECK(fd >= 0);
	CHECK_OK(fallocate(fd, 0, 0, 10000));
	struct stat st;
	CHECK_OK(fstat(fd, &st));
	CHECK_EQ(st.st_size, 10000);
	CHECK(st.st_blocks * 512 >= 10000);
	static char buf[65536];
	memset(buf, 1, sizeof buf);
	CHECK_EQ(pread(fd, buf, sizeof buf, 0), 10000);
	CHECK_FILL(buf, 0, 10000);

	// Inside the file: size unchanged.
	CHECK_OK(fallocate(fd, 0, 100, 100));
	CHECK_OK(fstat(fd, &st));
	CHECK_EQ(st.st_size, 10000);

	// KEEP_SIZE beyond EOF: blocks grow, size does not.
	blkcnt_t blocks = st.st_blocks;
	CHECK_OK(fallocate(fd, FALLOC_FL_KEEP_SIZE, 10000, 1 << 20));
	CHECK_OK(fstat(fd, &st));
	CHECK_EQ(st.st_size, 10000);
	CHECK(st.st_blocks > blocks);
	CHECK_EQ(pread(fd, buf, sizeof buf, 10000), 0);

	// Punch a hole in written data.
	memset(buf, 'x', 65536);
	CHECK_EQ(pwrite(fd, buf, 65536, 0), 65536);
	CHECK_ERR(fallocate(fd, FALLOC_FL_PUNCH_HOLE, 4096, 8192), EOPNOTSUPP);
	CHECK_OK(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 4096, 8192));
	CHECK_OK(fstat(fd, &st));
	CHECK_EQ(st.st_size, 65536);
	CHECK_EQ(pread(fd, buf, 65536, 0), 65536);
	CHECK_FILL(buf, 'x', 4096);
	CHECK_FILL(buf + 4096, 0, 8192);
	CHECK_FILL(buf + 12288, 'x', 65536 - 12288);
	// An unaligned hole zeroes exactly the range.
	CHECK_OK(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 20000, 10));
	CHECK_EQ(pread(fd, buf, 12, 19999), 12);
	CHECK_EQ(buf[0], 'x');
	CHECK_FILL(buf + 1, 0, 10);
	CHECK_EQ(buf[11], 'x');
	// Punching past EOF does not extend.
	CHECK_OK(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 60000, 100000));
	CHECK_OK(fstat(fd, &st));
	CHECK_EQ(st.st_size, 65536);

	CHECK_ERR(fallocate(fd, 0, 0, 0), EINVAL);
	CHECK_ERR(fallocate(fd, 0, -1, 10), EINVAL);
	CHECK_ERR(fallocate(fd, 0, 0, -10), EINVAL);
	int ro = open("f", O_RDONLY);
	CHECK(ro >= 0);
	CHECK_ERR(fallocate(ro, 0, 0, 10), EBADF);
	int p[2];
	CHECK_OK(pipe(p));
	CHECK_ERR(fallocate(p[1], 0, 0, 10), ESPIPE);
	CHECK_EQ(posix_fallocate(fd, 0, 70000), 0);
	CHECK_EQ(fsize("f"), 70000);
	close(ro);
	close(fd);
	return 0;
}
