// fs_rename_open: renaming a file or a directory does not affect open
// descriptors: they keep reading/writing the same inode at the same offset,
// /proc/self/fd shows the new path, and a directory fd keeps resolving
// relative names in the moved directory.
//
//go:build ignore

#include "fs_check.h"

int main(void) {
	scratch_cd();
	CHECK_OK(mkdir("d", 0755));
	make_file("d/f", 0644, "0123456789", 10);
	int fd = open("d/f", O_RDWR);
	CHECK(fd >= 0);
	char buf[16];
	CHECK_EQ(read(fd, buf, 4), 4);
	CHECK_OK(rename("d/f", "d/g"));
	CHECK_EQ(read(fd, buf, 2), 2);
	CHECK_MEM(buf, "45", 2);
	CHECK_EQ(write(fd, "xx", 2), 2);
	CHECK_EQ(slurp("d/g", buf, sizeof buf), 10);
	CHECK_MEM(buf, "012345xx89", 10);

	char link[64], target[4096];
	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, target, sizeof target - 1);
	CHECK(n > 0);
	target[n] = 0;
	CHECK_EQ(strcmp(target, spath("d/g")), 0);

	// Move the directory that holds it.
	int dfd = open("d", O_RDONLY | O_DIRECTORY);
	CHECK(dfd >= 0);
	CHECK_OK(rename("d", "e"));
	n = readlink(link, target, sizeof target - 1);
	CHECK(n > 0);
	target[n] = 0;
	CHECK_EQ(strcmp(target, spath("e/g")), 0);
	int g = openat(dfd, "g", O_RDONLY);
	CHECK(g >= 0);
	struct stat a, b;
	CHECK_OK(fstat(g, &a));
	CHECK_OK(fstat(fd, &b));
	CHECK_EQ(a.st_ino, b.st_ino);
	CHECK_EQ(lseek(fd, 0, SEEK_CUR), 8);

	// A file renamed over the open one: the fd still sees the old inode.
	make_file("e/new", 0644, "NEW", 3);
	CHECK_OK(rename("e/new", "e/g"));
	CHECK_EQ(pread(fd, buf, 3, 0), 3);
	CHECK_MEM(buf, "012", 3);
	CHECK_OK(fstat(fd, &b));
	CHECK_EQ(b.st_nlink, 0);
	close(g);
	close(dfd);
	close(fd);
	return 0;
}
