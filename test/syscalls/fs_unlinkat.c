// fs_unlinkat: unlinkat without flags removes non-directories (EISDIR for a
// directory), with AT_REMOVEDIR removes empty directories (ENOTDIR for a
// file, ENOTEMPTY for a full one); unknown flags are EINVAL; relative names
// resolve against the dirfd.
//
//go:build ignore

#include "fs_check.h"

int main(void) {
	scratch();
	CHECK_OK(mkdir(spath("d"), 0755));
	int d = open(spath("d"), O_RDONLY | O_DIRECTORY);
	CHECK(d >= 0);
	CHECK_OK(mkdirat(d, "sub", 0755));
	int fd = openat(d, "f", O_CREAT | O_WRONLY, 0644);
	CHECK(fd >= 0);
	close(fd);
	CHECK_OK(symlinkat("sub", d, "l"));

	CHECK_ERR(unlinkat(d, "sub", 0), EISDIR);
	CHECK_ERR(unlinkat(d, "f", AT_REMOVEDIR), ENOTDIR);
	CHECK_ERR(unlinkat(d, "l", AT_REMOVEDIR), ENOTDIR);
	CHECK_ERR(unlinkat(d, "f", 0x1), EINVAL);
	CHECK_ERR(unlinkat(d, "f", AT_SYMLINK_NOFOLLOW), EINVAL);
	CHECK_ERR(unlinkat(AT_FDCWD, spath("d"), AT_REMOVEDIR), ENOTEMPTY);
	CHECK_ERR(unlinkat(d, ".", AT_REMOVEDIR), EINVAL);
	CHECK_ERR(unlinkat(1000, "f", 0), EBADF);
	CHECK_ERR(unlinkat(fd, "f", 0), EBADF); // closed

	CHECK_OK(unlinkat(d, "l", 0));
	CHECK(lexists(spath("d/sub")));
	CHECK_OK(unlinkat(d, "f", 0));
	CHECK(!lexists(spath("d/f")));
	CHECK_OK(unlinkat(d, "sub", AT_REMOVEDIR));
	CHECK(!lexists(spath("d/sub")));
	CHECK_ERR(unlinkat(d, "sub", AT_REMOVEDIR), ENOENT);

	// Absolute path ignores the dirfd; the dir itself, now empty.
	CHECK_OK(unlinkat(-1, spath("d"), AT_REMOVEDIR));
	CHECK(!lexists(spath("d")));
	close(d);
	return 0;
}
