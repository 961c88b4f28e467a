// stat: fstat, stat, lstat and newfstatat (plain, AT_SYMLINK_NOFOLLOW,
// AT_EMPTY_PATH, relative to a dirfd) agree with each other and with the
// fixture (type, mode 0644, size, link count 2 via the hard link, mtime);
// ENOENT/EBADF/EINVAL/EFAULT error cases.
//
//go:build ignore

#include "check.h"

static void same(const struct stat *a, const struct stat *b, const char *what) {
	if (a->st_dev != b->st_dev || a->st_ino != b->st_ino || a->st_mode != b->st_mode ||
	    a->st_nlink != b->st_nlink || a->st_uid != b->st_uid || a->st_gid != b->st_gid ||
	    a->st_size != b->st_size || a->st_mtim.tv_sec != b->st_mtim.tv_sec ||
	    a->st_mtim.tv_nsec != b->st_mtim.tv_nsec || a->st_blocks != b->st_blocks ||
	    a->st_blksize != b->st_blksize)
		FAIL("%s: stat results differ (ino %lu/%lu mode %o/%o size %ld/%ld nlink %lu/%lu)",
		     what, (unsigned long)a->st_ino, (unsigned long)b->st_ino, a->st_mode, b->st_mode,
		     (long)a->st_size, (long)b->st_size, (unsigned long)a->st_nlink,
		     (unsigned long)b->st_nlink);
}

int main(int argc, char **argv) {
	const char *small = fixture(argc, argv, "small.txt");
	struct stat st, st2;
	CHECK_EQ(stat(small, &st), 0);
	CHECK(S_ISREG(st.st_mode));
	CHECK_EQ(st.st_mode & 07777, 0644);
	CHECK_EQ(st.st_size, SMALL_LEN);
	CHECK_EQ(st.st_nlink, 2);
	CHECK_EQ(st.st_mtim.tv_sec, FIXTURE_MTIME);
	CHECK_EQ(st.st_mtim.tv_nsec, 0);
	CHECK(st.st_blksize > 0);
	CHECK(st.st_ino != 0);

	int fd = open(small, O_RDONLY);
	CHECK(fd >= 0);
	CHECK_EQ(fstat(fd, &st2), 0);
	same(&st, &st2, "fstat");
	CHECK_EQ(lstat(small, &st2), 0);
	same(&st, &st2, "lstat");
	CHECK_EQ(lstat(fixture(argc, argv, "hardlink"), &st2), 0);
	same(&st, &st2, "hard link");
	CHECK_EQ(stat(fixture(argc, argv, "link"), &st2), 0);
	same(&st, &st2, "stat through symlink");
	CHECK_EQ(fstatat(fd, "", &st2, AT_EMPTY_PATH), 0);
	same(&st, &st2, "fstatat AT_EMPTY_PATH");
	int dfd = open(argv[1], O_RDONLY | O_DIRECTORY);
	CHECK(dfd >= 0);
	CHECK_EQ(fstatat(dfd, "small.txt", &st2, 0), 0);
	same(&st, &st2, "fstatat dirfd");
	CHECK_EQ(fstatat(dfd, "link", &st2, 0), 0);
	same(&st, &st2, "fstatat dirfd symlink");
	CHECK_EQ(fstatat(dfd, "link", &st2, AT_SYMLINK_NOFOLLOW), 0);
	CHECK(S_ISLNK(st2.st_mode));
	CHECK_EQ(st2.st_size, 9);
	CHECK(st2.st_ino != st.st_ino);
	CHECK_EQ(st2.st_dev, st.st_dev);

	// The fixture directory.
	struct stat d1, d2;
	CHECK_EQ(fstat(dfd, &d1), 0);
	CHECK_EQ(stat(argv[1], &d2), 0);
	same(&d1, &d2, "directory");
	CHECK(S_ISDIR(d1.st_mode));
	CHECK_EQ(d1.st_mode & 07777, 0755);
	CHECK_EQ(fstatat(dfd, "dirlink", &d2, 0), 0);
	CHECK(S_ISDIR(d2.st_mode));
	CHECK_EQ(fstatat(dfd, "empty", &d2, 0), 0);
	CHECK_EQ(d2.st_size, 0);
	CHECK_EQ(d2.st_nlink, 1);
	CHECK_EQ(d2.st_blocks, 0);

	// Errors.
	CHECK_ERR(stat(fixture(argc, argv, "nope"), &st2), ENOENT);
	CHECK_ERR(stat("", &st2), ENOENT);
	CHECK_ERR(fstatat(dfd, "", &st2, 0), ENOENT);
	CHECK_ERR(fstat(1000, &st2), EBADF);
	CHECK_ERR(fstatat(dfd, "small.txt", &st2, 0x40000000), EINVAL);
	CHECK_ERR(fstat(fd, bad_addr()), EFAULT);
	CHECK_ERR(stat(fixture(argc, argv, "small.txt/x"), &st2), ENOTDIR);
	return 0;
}
