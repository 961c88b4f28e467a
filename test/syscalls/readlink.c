// readlink: readlink/readlinkat return the target without a NUL,
// truncated to the buffer size; intermediate links are followed; a
// non-symlink or bufsiz 0 -> EINVAL; missing -> ENOENT.
//
//go:build ignore

#include "check.h"

int main(int argc, char **argv) {
	char buf[64];
	memset(buf, 'Z', sizeof buf);
	CHECK_EQ(readlink(fixture(argc, argv, "link"), buf, sizeof buf), 9);
	CHECK_MEM(buf, "small.txt", 9);
	CHECK_EQ(buf[9], 'Z'); // no NUL terminator
	memset(buf, 'Z', sizeof buf);
	CHECK_EQ(readlink(fixture(argc, argv, "link"), buf, 4), 4);
	CHECK_MEM(buf, "smalZ", 5);
	CHECK_EQ(readlink(fixture(argc, argv, "dangling"), buf, sizeof buf), 14);
	CHECK_MEM(buf, "does-not-exist", 14);
	CHECK_EQ(readlink(fixture(argc, argv, "loop1"), buf, sizeof buf), 5);
	CHECK_MEM(buf, "loop2", 5);
	CHECK_EQ(readlink(fixture(argc, argv, "dirlink/lnk"), buf, sizeof buf), 4);
	CHECK_MEM(buf, "f000", 4);

	int dfd = open(argv[1], O_RDONLY | O_DIRECTORY);
	CHECK(dfd >= 0);
	CHECK_EQ(readlinkat(dfd, "dirlink", buf, sizeof buf), 3);
	CHECK_MEM(buf, "dir", 3);
	int sub = openat(dfd, "dir", O_RDONLY | O_DIRECTORY);
	CHECK(sub >= 0);
	CHECK_EQ(readlinkat(sub, "lnk", buf, sizeof buf), 4);
	CHECK_EQ(readlinkat(sub, "../link", buf, sizeof buf), 9);

	CHECK_ERR(readlink(fixture(argc, argv, "small.txt"), buf, sizeof buf), EINVAL);
	CHECK_ERR(readlinkat(dfd, "dir", buf, sizeof buf), EINVAL);
	CHECK_ERR(readlinkat(dfd, "link", buf, opaque(0)), EINVAL);
	CHECK_ERR(readlinkat(dfd, "nope", buf, sizeof buf), ENOENT);
	CHECK_ERR(readlinkat(dfd, "loop1/x", buf, sizeof buf), ELOOP);
	CHECK_ERR(readlinkat(dfd, "small.txt/x", buf, sizeof buf), ENOTDIR);
	CHECK_ERR(readlinkat(1000, "link", buf, sizeof buf), EBADF);
	CHECK_ERR(readlinkat(dfd, "link", bad_addr(), sizeof buf), EFAULT);
	return 0;
}
