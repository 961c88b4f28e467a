// fs_trailing_slash: a trailing slash demands a directory: on a file it is
// ENOTDIR (open, stat, unlink, rename), creating a file with one is
// EISDIR, mkdir/rmdir/rename of directories accept it, and a symlink
// followed by a slash resolves to its directory target.
//
//go:build ignore

#include "fs_check.h"

int main(void) {
	scratch_cd();
	make_file("f", 0644, NULL, 0);
	CHECK_OK(mkdir("d", 0755));
	CHECK_OK(symlink("d", "dl"));
	CHECK_OK(symlink("f", "fl"));
	struct stat st;

	CHECK_ERR(stat("f/", &st), ENOTDIR);
	CHECK_ERR(open("f/", O_RDONLY), ENOTDIR);
	CHECK_ERR(stat("fl/", &st), ENOTDIR);
	CHECK_ERR(unlink("f/"), ENOTDIR);
	CHECK_ERR(open("new/", O_WRONLY | O_CREAT, 0644), EISDIR);
	CHECK(!lexists("new"));
	CHECK_ERR(open("f/", O_WRONLY | O_CREAT, 0644), EISDIR);
	CHECK_ERR(link("f", "f2/"), ENOENT);
	CHECK_ERR(symlink("f", "s2/"), ENOENT);

	// dl/ follows the link; lstat("dl/") sees the directory.
	CHECK_OK(lstat("dl/", &st));
	CHECK(S_ISDIR(st.st_mode));
	CHECK_OK(lstat("dl", &st));
	CHECK(S_ISLNK(st.st_mode));
	int fd = open("dl/", O_RDONLY);
	CHECK(fd >= 0);
	close(fd);

	CHECK_OK(mkdir("e/", 0755));
	CHECK_OK(mkdir("e//sub//", 0755));
	CHECK_OK(rename("e/", "e2/"));
	CHECK_OK(rename("e2", "e3/"));
	CHECK_OK(stat("e3//sub/", &st));
	CHECK_OK(rmdir("e3/sub/"));
	CHECK_OK(rmdir("e3//"));
	CHECK(!lexists("e3"));
	CHECK_ERR(rmdir("dl/"), ENOTDIR); // the last component is still a link
	CHECK_OK(rename("f", "g"));
	CHECK_ERR(rename("g", "h/"), ENOTDIR);
	CHECK_ERR(rename("g/", "h"), ENOTDIR);
	CHECK_OK(stat("d/.", &st));
	CHECK_OK(stat("d/./", &st));
	return 0;
}
