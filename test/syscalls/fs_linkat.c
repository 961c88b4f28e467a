// fs_linkat: linkat resolves both names against their own dirfds; with
// AT_EMPTY_PATH (needs CAP_DAC_READ_SEARCH, so root here) the source is the
// dirfd's own file; unknown flags are EINVAL; a directory dirfd with
// AT_EMPTY_PATH is EPERM; bad fds EBADF.
//
//go:build ignore

#include "fs_check.h"

int main(void) {
	scratch();
	CHECK_OK(mkdir(spath("a"), 0755));
	CHECK_OK(mkdir(spath("b"), 0755));
	int a = open(spath("a"), O_RDONLY | O_DIRECTORY);
	int b = open(spath("b"), O_PATH | O_DIRECTORY);
	CHECK(a >= 0 && b >= 0);
	int fd = openat(a, "f", O_CREAT | O_RDWR, 0644);
	CHECK(fd >= 0);
	CHECK_EQ(write(fd, "x", 1), 1);

	CHECK_OK(linkat(a, "f", b, "g", 0));
	CHECK_EQ(ino(spath("b/g")), ino(spath("a/f")));
	CHECK_OK(linkat(b, "g", a, "../top", 0));
	CHECK_EQ(ino(spath("top")), ino(spath("a/f")));
	CHECK_ERR(linkat(a, "f", b, "g", 0), EEXIST);
	CHECK_ERR(linkat(a, "f", b, "h", 0x8000000), EINVAL);
	CHECK_ERR(linkat(1000, "f", b, "h", 0), EBADF);
	CHECK_ERR(linkat(a, "f", 1000, "h", 0), EBADF);
	CHECK_ERR(linkat(fd, "f", b, "h", 0), ENOTDIR);

	if (geteuid() == 0) {
		// AT_EMPTY_PATH: link the open file itself.
		CHECK_OK(linkat(fd, "", b, "byfd", AT_EMPTY_PATH));
		CHECK_EQ(ino(spath("b/byfd")), ino(spath("a/f")));
		CHECK_ERR(linkat(a, "", b, "dir", AT_EMPTY_PATH), EPERM);
		// An unlinked (but not O_TMPFILE) file cannot be resurrected.
		int t = openat(a, "tmp", O_CREAT | O_RDWR, 0644);
		CHECK(t >= 0);
		CHECK_OK(unlinkat(a, "tmp", 0));
		CHECK_ERR(linkat(t, "", b, "back", AT_EMPTY_PATH), ENOENT);
		close(t);
	}
	// Without AT_EMPTY_PATH an empty name is ENOENT.
	CHECK_ERR(linkat(fd, "", b, "empty", 0), ENOENT);

	struct stat st;
	CHECK_OK(fstat(fd, &st));
	CHECK_EQ(st.st_nlink, geteuid() == 0 ? 4 : 3);
	close(fd);
	close(a);
	close(b);
	return 0;
}
