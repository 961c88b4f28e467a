// access: access/faccessat/faccessat2 for existence and read/exec
// permission: F_OK and R_OK succeed on the fixture, X_OK on a 0644 file ->
// EACCES (even for root), on a directory succeeds; missing -> ENOENT; bad
// mode or flags -> EINVAL; AT_SYMLINK_NOFOLLOW checks the link itself;
// AT_EMPTY_PATH checks an fd.
//
//go:build ignore

#include "check.h"

#ifndef SYS_faccessat2
#define SYS_faccessat2 439
#endif

static long faccessat2(int dfd, const char *p, int mode, int flags) {
	return syscall(SYS_faccessat2, dfd, p, mode, flags);
}

int main(int argc, char **argv) {
	const char *small = fixture(argc, argv, "small.txt");
	CHECK_EQ(access(small, F_OK), 0);
	CHECK_EQ(access(small, R_OK), 0);
	CHECK_ERR(access(small, X_OK), EACCES);
	CHECK_ERR(access(small, R_OK | X_OK), EACCES);
	CHECK_EQ(access(argv[1], R_OK | X_OK), 0);
	CHECK_EQ(access(fixture(argc, argv, "link"), R_OK), 0);
	CHECK_ERR(access(fixture(argc, argv, "nope"), F_OK), ENOENT);
	CHECK_ERR(access(fixture(argc, argv, "dangling"), F_OK), ENOENT);
	CHECK_ERR(access(fixture(argc, argv, "loop1"), F_OK), ELOOP);
	CHECK_ERR(access(fixture(argc, argv, "small.txt/"), F_OK), ENOTDIR);
	CHECK_ERR(access(small, 8), EINVAL);

	int dfd = open(argv[1], O_RDONLY | O_DIRECTORY);
	CHECK(dfd >= 0);
	CHECK_EQ(syscall(SYS_faccessat, dfd, "small.txt", R_OK), 0);
	CHECK_EQ(syscall(SYS_faccessat, dfd, "dir", X_OK), 0);
	CHECK_ERR(syscall(SYS_faccessat, dfd, "nope", F_OK), ENOENT);
	CHECK_ERR(syscall(SYS_faccessat, 1000, "small.txt", F_OK), EBADF);

	// faccessat2: flags.
	CHECK_EQ(faccessat2(dfd, "small.txt", R_OK, 0), 0);
	CHECK_EQ(faccessat2(dfd, "small.txt", R_OK, AT_EACCESS), 0);
	CHECK_ERR(faccessat2(dfd, "small.txt", X_OK, AT_EACCESS), EACCES);
	CHECK_ERR(faccessat2(dfd, "dangling", F_OK, 0), ENOENT);
	CHECK_EQ(faccessat2(dfd, "dangling", F_OK, AT_SYMLINK_NOFOLLOW), 0);
	CHECK_EQ(faccessat2(dfd, "loop1", F_OK, AT_SYMLINK_NOFOLLOW), 0);
	int fd = open(small, O_RDONLY);
	CHECK(fd >= 0);
	CHECK_EQ(faccessat2(fd, "", R_OK, AT_EMPTY_PATH), 0);
	CHECK_ERR(faccessat2(fd, "", R_OK, 0), ENOENT);
	CHECK_ERR(faccessat2(dfd, "small.txt", R_OK, 0x1), EINVAL);
	CHECK_ERR(faccessat2(dfd, "small.txt", 0x10, 0), EINVAL);
	return 0;
}
