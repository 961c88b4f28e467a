// fs_rmdir: rmdir removes an empty directory (nlink of the parent drops);
// a non-empty one is ENOTEMPTY, "." is EINVAL, ".." ENOTEMPTY, a file or a
// symlink to a directory ENOTDIR, a missing name ENOENT; an open descriptor
// of the removed directory stays valid (fstat: nlink 0) but getdents and
// creating entries in it fail with ENOENT.
//
//go:build ignore

#include "fs_check.h"

int main(void) {
	scratch_cd();
	CHECK_OK(mkdir("d", 0755));
	CHECK_OK(mkdir("full", 0755));
	make_file("full/x", 0644, NULL, 0);
	CHECK_OK(mkdir("full2", 0755));
	CHECK_OK(mkdir("full2/sub", 0755));
	make_file("f", 0644, NULL, 0);
	CHECK_OK(symlink("d", "dlink"));

	CHECK_ERR(rmdir("full"), ENOTEMPTY);
	CHECK_ERR(rmdir("full2"), ENOTEMPTY);
	CHECK_ERR(rmdir("f"), ENOTDIR);
	CHECK_ERR(rmdir("dlink"), ENOTDIR);
	CHECK_ERR(rmdir("missing"), ENOENT);
	CHECK_ERR(rmdir("f/x"), ENOTDIR);
	CHECK_ERR(rmdir("d/."), EINVAL);
	CHECK_ERR(rmdir("."), EINVAL);
	CHECK_ERR(rmdir("d/.."), ENOTEMPTY);
	CHECK_ERR(rmdir(""), ENOENT);

	struct stat p1, p2;
	CHECK_OK(stat(".", &p1));
	int fd = open("d", O_RDONLY | O_DIRECTORY);
	CHECK(fd >= 0);
	CHECK_OK(rmdir("d/")); // a trailing slash is fine
	CHECK(!lexists("d"));
	CHECK_OK(stat(".", &p2));
	if (p1.st_nlink > 1)
		CHECK_EQ(p2.st_nlink, p1.st_nlink - 1);

	// The open descriptor: nlink 0, empty listing, no new entries.
	struct stat st;
	CHECK_OK(fstat(fd, &st));
	CHECK(S_ISDIR(st.st_mode));
	CHECK_EQ(st.st_nlink, 0);
	char buf[1024];
	CHECK_ERR(syscall(SYS_getdents64, fd, buf, sizeof buf), ENOENT); // a dead directory
	CHECK_ERR(openat(fd, "new", O_CREAT | O_WRONLY, 0644), ENOENT);
	CHECK_ERR(mkdirat(fd, "new", 0755), ENOENT);
	CHECK_OK(close(fd));

	// Emptying a directory makes it removable; the symlink is untouched
	// and now dangles.
	CHECK_OK(unlink("full/x"));
	CHECK_OK(rmdir("full"));
	CHECK_OK(rmdir("full2/sub"));
	CHECK_OK(rmdir("full2"));
	CHECK_OK(lstat("dlink", &st));
	CHECK(S_ISLNK(st.st_mode));
	CHECK_ERR(stat("dlink", &st), ENOENT);
	return 0;
}
