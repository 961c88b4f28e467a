// fs_chmod: chmod, fchmod and fchmodat set the 07777 permission bits
// (higher bits are ignored), change ctime but not mtime, follow symlinks,
// and work on an fd opened read-only; fchmod on an O_PATH fd is EBADF;
// missing names ENOENT.
//
//go:build ignore

#include "fs_check.h"

static mode_t mode_of(const char *p) {
	struct stat st;
	CHECK_OK(stat(p, &st));
	return st.st_mode;
}

int main(void) {
	scratch_cd();
	make_file("f", 0644, "x", 1);
	struct timespec old[2] = {{1000, 0}, {2000, 0}};
	CHECK_OK(utimensat(AT_FDCWD, "f", old, 0));
	struct stat before, st;
	CHECK_OK(stat("f", &before));

	CHECK_OK(chmod("f", 0600));
	CHECK_EQ(mode_of("f"), S_IFREG | 0600);
	CHECK_OK(chmod("f", 0170755)); // file type bits are ignored
	CHECK_EQ(mode_of("f"), S_IFREG | 0755);
	CHECK_OK(chmod("f", 07777));
	CHECK_EQ(mode_of("f") & 07777, 07777);
	CHECK_OK(chmod("f", 0));
	CHECK_EQ(mode_of("f"), S_IFREG);
	CHECK_OK(stat("f", &st));
	CHECK_EQ(st.st_mtime, 2000);
	CHECK_EQ(st.st_atime, 1000);
	CHECK(st.st_ctim.tv_sec >= before.st_ctim.tv_sec);

	int fd = open("f", O_RDONLY); // root ignores the 0 mode
	if (fd < 0) {
		CHECK_OK(chmod("f", 0400));
		fd = open("f", O_RDONLY);
	}
	CHECK(fd >= 0);
	CHECK_OK(fchmod(fd, 0640));
	CHECK_EQ(mode_of("f"), S_IFREG | 0640);
	close(fd);

	CHECK_OK(symlink("f", "l"));
	CHECK_OK(chmod("l", 0604));
	CHECK_EQ(mode_of("f"), S_IFREG | 0604);
	CHECK_OK(lstat("l", &st));
	CHECK_EQ(st.st_mode & 0777, 0777);

	CHECK_OK(mkdir("d", 0755));
	int d = open("d", O_RDONLY | O_DIRECTORY);
	CHECK(d >= 0);
	CHECK_OK(fchmodat(AT_FDCWD, "d", 01700, 0));
	CHECK_EQ(mode_of("d"), S_IFDIR | 01700);
	CHECK_OK(fchmod(d, 0755));
	CHECK_EQ(mode_of("d"), S_IFDIR | 0755);
	make_file("d/in", 0644, NULL, 0);
	CHECK_OK(fchmodat(d, "in", 0444, 0));
	CHECK_EQ(mode_of("d/in"), S_IFREG | 0444);

	int p = open("f", O_PATH);
	CHECK(p >= 0);
	CHECK_ERR(fchmod(p, 0600), EBADF);
	CHECK_ERR(chmod("missing", 0600), ENOENT);
	CHECK_ERR(chmod("f/x", 0600), ENOTDIR);
	CHECK_ERR(fchmod(1000, 0600), EBADF);
	CHECK_ERR(fchmodat(d, "in", 0600, 0x1000000), EINVAL);
	close(p);
	close(d);
	return 0;
}
