// fs_rename_same: renaming a name onto itself, or onto another hard link
// of the same inode, succeeds and does nothing (both names remain); the
// same holds for a directory renamed onto itself, and for RENAME_NOREPLACE
// onto an existing link of the same inode it is EEXIST.
//
//go:build ignore

#include "fs_check.h"

int main(void) {
	scratch_cd();
	make_file("a", 0644, "abc", 3);
	ino_t i = ino("a");
	CHECK_OK(rename("a", "a"));
	CHECK_EQ(ino("a"), i);
	CHECK_EQ(fsize("a"), 3);

	CHECK_OK(link("a", "b"));
	CHECK_OK(rename("a", "b"));
	CHECK(lexists("a")); // POSIX: both names stay
	CHECK(lexists("b"));
	struct stat st;
	CHECK_OK(stat("a", &st));
	CHECK_EQ(st.st_nlink, 2);
	CHECK_ERR(renameat2(AT_FDCWD, "a", AT_FDCWD, "b", RENAME_NOREPLACE), EEXIST);

	CHECK_OK(mkdir("d", 0755));
	make_file("d/x", 0644, NULL, 0);
	CHECK_OK(rename("d", "d"));
	CHECK_OK(rename("d", "./d/"));
	CHECK(lexists("d/x"));

	// Through different paths to the same entry.
	int dfd = open("d", O_RDONLY | O_DIRECTORY);
	CHECK(dfd >= 0);
	CHECK_OK(renameat(dfd, "x", AT_FDCWD, "d/x"));
	CHECK(lexists("d/x"));
	CHECK_OK(symlink("a", "l"));
	CHECK_OK(rename("l", "l"));
	CHECK_OK(lstat("l", &st));
	CHECK(S_ISLNK(st.st_mode));
	close(dfd);
	return 0;
}
