// symlinks: path resolution follows symlinks (final and intermediate
// components); a dangling link -> ENOENT; a loop -> ELOOP; O_NOFOLLOW on a
// final symlink -> ELOOP but intermediate links are still followed;
// stat/lstat see the target/the link.
//
//go:build ignore

#include "check.h"

int main(int argc, char **argv) {
	char buf[64];
	int fd = open(fixture(argc, argv, "link"), O_RDONLY);
	CHECK(fd >= 0);
	CHECK_EQ(read(fd, buf, sizeof buf), SMALL_LEN);
	CHECK_MEM(buf, SMALL_TXT, SMALL_LEN);
	close(fd);

	// Intermediate symlink to a directory, and a link inside it.
	fd = open(fixture(argc, argv, "dirlink/f000"), O_RDONLY);
	CHECK(fd >= 0);
	CHECK_EQ(read(fd, buf, sizeof buf), 0);
	close(fd);
	fd = open(fixture(argc, argv, "dirlink/lnk"), O_RDONLY);
	CHECK(fd >= 0);
	close(fd);
	fd = open(fixture(argc, argv, "dirlink"), O_RDONLY | O_DIRECTORY);
	CHECK(fd >= 0);
	close(fd);
	fd = open(fixture(argc, argv, "dirlink/"), O_RDONLY);
	CHECK(fd >= 0);
	close(fd);
	fd = open(fixture(argc, argv, "dirlink/sub/../f001"), O_RDONLY);
	CHECK(fd >= 0);
	close(fd);

	CHECK_ERR(open(fixture(argc, argv, "dangling"), O_RDONLY), ENOENT);
	CHECK_ERR(open(fixture(argc, argv, "loop1"), O_RDONLY), ELOOP);
	CHECK_ERR(open(fixture(argc, argv, "loop2/x"), O_RDONLY), ELOOP);
	CHECK_ERR(open(fixture(argc, argv, "link"), O_RDONLY | O_NOFOLLOW), ELOOP);
	CHECK_ERR(open(fixture(argc, argv, "dangling"), O_RDONLY | O_NOFOLLOW), ELOOP);
	CHECK_ERR(open(fixture(argc, argv, "link/"), O_RDONLY), ENOTDIR);
	fd = open(fixture(argc, argv, "dirlink/f000"), O_RDONLY | O_NOFOLLOW);
	CHECK(fd >= 0);
	close(fd);
	CHECK_ERR(open(fixture(argc, argv, "dirlink"), O_RDONLY | O_NOFOLLOW | O_DIRECTORY), ENOTDIR);

	struct stat st, lst, tst;
	CHECK_EQ(stat(fixture(argc, argv, "link"), &st), 0);
	CHECK_EQ(lstat(fixture(argc, argv, "link"), &lst), 0);
	CHECK_EQ(stat(fixture(argc, argv, "small.txt"), &tst), 0);
	CHECK(S_ISREG(st.st_mode));
	CHECK(S_ISLNK(lst.st_mode));
	CHECK_EQ(lst.st_size, strlen("small.txt"));
	CHECK_EQ(st.st_ino, tst.st_ino);
	CHECK(lst.st_ino != tst.st_ino);
	CHECK_ERR(stat(fixture(argc, argv, "dangling"), &st), ENOENT);
	CHECK_EQ(lstat(fixture(argc, argv, "dangling"), &st), 0);
	CHECK(S_ISLNK(st.st_mode));
	CHECK_ERR(stat(fixture(argc, argv, "loop1"), &st), ELOOP);
	CHECK_EQ(lstat(fixture(argc, argv, "loop1"), &st), 0);
	CHECK_EQ(stat(fixture(argc, argv, "dirlink"), &st), 0);
	CHECK(S_ISDIR(st.st_mode));
	return 0;
}
