// fs_truncate: truncate/ftruncate shrink a file (data beyond is gone) and
// grow it with zeros (also after an earlier shrink, no stale data comes
// back); the file offset is unchanged; truncate follows symlinks; a
// negative length is EINVAL, a directory EISDIR.
//
//go:build ignore

#include "fs_check.h"

int main(void) {
	scratch_cd();
	char data[8192];
	for (int i = 0; i < (int)sizeof data; i++)
		data[i] = 'a' + i % 26;
	make_file("f", 0644, data, sizeof data);
	int fd = open("f", O_RDWR);
	CHECK(fd >= 0);
	CHECK_EQ(lseek(fd, 100, SEEK_SET), 100);

	CHECK_OK(ftruncate(fd, 10));
	CHECK_EQ(fsize("f"), 10);
	CHECK_EQ(lseek(fd, 0, SEEK_CUR), 100);
	char buf[8192];
	CHECK_EQ(read(fd, buf, 10), 0); // offset past EOF

	// Grow: the old bytes 10.. must not reappear.
	CHECK_OK(ftruncate(fd, 5000));
	CHECK_EQ(pread(fd, buf, sizeof buf, 0), 5000);
	CHECK_MEM(buf, data, 10);
	CHECK_FILL(buf + 10, 0, 4990);

	// Shrink within a page, then grow again.
	CHECK_EQ(pwrite(fd, data, 5000, 0), 5000);
	CHECK_OK(truncate("f", 3));
	CHECK_OK(truncate("f", 4096 + 7));
	CHECK_EQ(pread(fd, buf, sizeof buf, 0), 4103);
	CHECK_MEM(buf, "abc", 3);
	CHECK_FILL(buf + 3, 0, 4100);

	// Writing past EOF after a shrink leaves a zero gap.
	CHECK_OK(ftruncate(fd, 2));
	CHECK_EQ(pwrite(fd, "Z", 1, 50), 1);
	CHECK_EQ(pread(fd, buf, sizeof buf, 0), 51);
	CHECK_FILL(buf + 2, 0, 48);
	CHECK_EQ(buf[50], 'Z');

	CHECK_OK(ftruncate(fd, 0));
	CHECK_EQ(fsize("f"), 0);
	CHECK_OK(truncate("f", 0)); // no-op
	CHECK_OK(symlink("f", "l"));
	CHECK_OK(truncate("l", 77));
	CHECK_EQ(fsize("f"), 77);

	// Big sparse sizes are fine.
	CHECK_OK(ftruncate(fd, 1LL << 32));
	CHECK_EQ(fsize("f"), 1LL << 32);
	CHECK_EQ(pread(fd, buf, 16, (1LL << 32) - 8), 8);
	CHECK_FILL(buf, 0, 8);

	CHECK_ERR(ftruncate(fd, -1), EINVAL);
	CHECK_ERR(truncate("f", -1), EINVAL);
	CHECK_OK(mkdir("d", 0755));
	CHECK_ERR(truncate("d", 0), EISDIR);
	CHECK_ERR(truncate("missing", 0), ENOENT);
	CHECK_ERR(truncate("f/x", 0), ENOTDIR);
	close(fd);
	return 0;
}
