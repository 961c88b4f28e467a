// fs_stat_blocks: st_blocks counts 512-byte units actually allocated: a
// freshly created empty file has 0, writing data allocates at least the
// written size, a file extended by truncate (or by writing far past EOF)
// stays sparse with far fewer blocks than its size; st_blksize is positive.
// (Both ext4 and tmpfs allocate lazily.)
//
//go:build ignore

#include "fs_check.h"

int main(void) {
	scratch_cd();
	int fd = open("f", O_RDWR | O_CREAT, 0644);
	CHECK(fd >= 0);
	struct stat st;
	CHECK_OK(fstat(fd, &st));
	CHECK_EQ(st.st_blocks, 0);
	CHECK(st.st_blksize > 0);

	static char buf[65536];
	memset(buf, 'd', sizeof buf);
	CHECK_EQ(write(fd, buf, sizeof buf), (ssize_t)sizeof buf);
	CHECK_OK(fsync(fd)); // delayed allocation must be settled
	CHECK_OK(fstat(fd, &st));
	CHECK(st.st_blocks * 512 >= (blkcnt_t)sizeof buf);

	int s = open("sparse", O_RDWR | O_CREAT, 0644);
	CHECK(s >= 0);
	CHECK_OK(ftruncate(s, 64 << 20));
	CHECK_OK(fstat(s, &st));
	CHECK_EQ(st.st_size, 64 << 20);
	CHECK(st.st_blocks * 512 < (1 << 20));
	CHECK_EQ(pwrite(s, "end", 3, (128 << 20) - 3), 3);
	CHECK_OK(fsync(s));
	CHECK_OK(fstat(s, &st));
	CHECK_EQ(st.st_size, 128 << 20);
	CHECK(st.st_blocks > 0);
	CHECK(st.st_blocks * 512 < (1 << 20));

	// Shrinking frees the blocks.
	CHECK_OK(ftruncate(fd, 0));
	CHECK_OK(fstat(fd, &st));
	CHECK_EQ(st.st_blocks, 0);
	// Directories and symlinks have a size too.
	CHECK_OK(lstat(".", &st));
	CHECK(st.st_size >= 0);
	CHECK_OK(symlink("abcdef", "l"));
	CHECK_OK(lstat("l", &st));
	CHECK_EQ(st.st_size, 6);
	close(fd);
	close(s);
	return 0;
}
