// cwd: getcwd/chdir/fchdir: the working directory follows chdir (through
// symlinks to the physical path) and fchdir, relative opens resolve against
// it; getcwd's buffer must fit the path and its NUL (else ERANGE) and the raw
// syscall returns the length including the NUL; chdir to a file -> ENOTDIR,
// to nothing -> ENOENT; fchdir on a file -> ENOTDIR, bad fd -> EBADF.
//
//go:build ignore

#include "check.h"
#include <limits.h>

static void want_cwd(const char *base, const char *suffix) {
	char want[PATH_MAX], got[PATH_MAX];
	snprintf(want, sizeof want, "%s%s", base, suffix);
	CHECK(getcwd(got, sizeof got) != NULL);
	if (strcmp(got, want))
		FAIL("getcwd (got %s want %s)", got, want);
	long n = syscall(SYS_getcwd, got, sizeof got);
	CHECK_EQ(n, strlen(want) + 1);
}

int main(int argc, char **argv) {
	const char *fix = argv[1];
	if (argc < 2 || fix[0] != '/')
		FAIL("need an absolute fixture path");
	CHECK_EQ(chdir(fix), 0);
	want_cwd(fix, "");
	int fd = open("small.txt", O_RDONLY);
	CHECK(fd >= 0);
	char buf[16];
	CHECK_EQ(read(fd, buf, 5), 5);
	CHECK_MEM(buf, "hello", 5);
	CHECK_EQ(close(fd), 0);

	CHECK_EQ(chdir("dir"), 0);
	want_cwd(fix, "/dir");
	CHECK_EQ(access("f042", F_OK), 0);
	CHECK_EQ(access("../small.txt", R_OK), 0);
	CHECK_EQ(chdir(".."), 0);
	want_cwd(fix, "");

	// Through a symlink: getcwd shows the physical path.
	CHECK_EQ(chdir("dirlink/sub"), 0);
	want_cwd(fix, "/dir/sub");
	CHECK_EQ(chdir("../../"), 0);
	want_cwd(fix, "");

	// fchdir.
	int sub = open("dir/sub", O_RDONLY | O_DIRECTORY);
	CHECK(sub >= 0);
	CHECK_EQ(fchdir(sub), 0);
	want_cwd(fix, "/dir/sub");
	CHECK_EQ(access("../f000", F_OK), 0);
	CHECK_EQ(chdir("/"), 0);
	want_cwd("/", "");

	// getcwd buffer sizes.
	CHECK_EQ(chdir(fix), 0);
	size_t len = strlen(fix);
	char small[PATH_MAX];
	CHECK(getcwd(small, len + 1) != NULL);
	CHECK_ERR(syscall(SYS_getcwd, small, len), ERANGE);
	CHECK_ERR(syscall(SYS_getcwd, small, 1), ERANGE);
	CHECK_ERR(syscall(SYS_getcwd, bad_addr(), PATH_MAX), EFAULT);

	// Errors leave the cwd alone.
	int file = open("small.txt", O_RDONLY);
	CHECK(file >= 0);
	CHECK_ERR(chdir("small.txt"), ENOTDIR);
	CHECK_ERR(chdir("nope"), ENOENT);
	CHECK_ERR(chdir(""), ENOENT);
	CHECK_ERR(chdir("loop1"), ELOOP);
	CHECK_ERR(fchdir(file), ENOTDIR);
	CHECK_ERR(fchdir(1000), EBADF);
	want_cwd(fix, "");
	return 0;
}
