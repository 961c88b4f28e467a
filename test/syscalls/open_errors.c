// open_errors: openat error paths: ENOENT (missing file, missing parent,
// empty path), ENOTDIR (file used as a directory, trailing slash on a file,
// O_DIRECTORY on a file), EISDIR (writing open of a directory, read(2) of a
// directory fd), EEXIST (O_CREAT|O_EXCL of an existing file), ENAMETOOLONG,
// EBADF (bad dirfd) and ENOTDIR (dirfd that is a file).
//
//go:build ignore

#include "check.h"

int main(int argc, char **argv) {
	const char *small = fixture(argc, argv, "small.txt");
	CHECK_ERR(open(fixture(argc, argv, "nope"), O_RDONLY), ENOENT);
	CHECK_ERR(open(fixture(argc, argv, "nope/small.txt"), O_RDONLY), ENOENT);
	CHECK_ERR(open("", O_RDONLY), ENOENT);
	CHECK_ERR(open(fixture(argc, argv, "small.txt/x"), O_RDONLY), ENOTDIR);
	CHECK_ERR(open(fixture(argc, argv, "small.txt/"), O_RDONLY), ENOTDIR);
	CHECK_ERR(open(small, O_RDONLY | O_DIRECTORY), ENOTDIR);
	CHECK_ERR(open(argv[1], O_WRONLY), EISDIR);
	CHECK_ERR(open(argv[1], O_RDWR), EISDIR);
	CHECK_ERR(open(small, O_RDONLY | O_CREAT | O_EXCL, 0644), EEXIST);
	CHECK_ERR(open(fixture(argc, argv, "dir"), O_RDONLY | O_CREAT | O_EXCL, 0644), EEXIST);

	// A directory opens read-only (also with O_DIRECTORY) but read fails.
	int d = open(argv[1], O_RDONLY | O_DIRECTORY);
	CHECK(d >= 0);
	char buf[16];
	CHECK_ERR(read(d, buf, sizeof buf), EISDIR);

	// Relative to a dirfd.
	int f = openat(d, "small.txt", O_RDONLY);
	CHECK(f >= 0);
	CHECK_EQ(read(f, buf, 5), 5);
	CHECK_MEM(buf, "hello", 5);
	CHECK_ERR(openat(f, "x", O_RDONLY), ENOTDIR); // dirfd is a file
	CHECK_ERR(openat(999, "small.txt", O_RDONLY), EBADF);
	CHECK_ERR(openat(-5, "small.txt", O_RDONLY), EBADF);
	// An absolute path ignores dirfd, even a bad one.
	int g = openat(999, small, O_RDONLY);
	CHECK(g >= 0);

	// Component longer than NAME_MAX; path longer than PATH_MAX.
	char name[300];
	memset(name, 'a', sizeof name - 1);
	name[sizeof name - 1] = 0;
	CHECK_ERR(openat(d, name, O_RDONLY), ENAMETOOLONG);
	static char path[5000];
	for (int i = 0; i + 2 < (int)sizeof path; i += 2)
		memcpy(path + i, "./", 2);
	path[sizeof path - 1] = 0;
	CHECK_ERR(openat(d, path, O_RDONLY), ENAMETOOLONG);
	CHECK_ERR(open(bad_addr(), O_RDONLY), EFAULT);
	return 0;
}
