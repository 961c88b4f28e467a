// fs_link: link adds a name for the same inode (nlink counts up and down,
// ctime changes, data shared); an existing new name is EEXIST, a directory
// source EPERM, a missing source ENOENT; link() does not follow a symlink
// source (the new name is another symlink), linkat AT_SYMLINK_FOLLOW does.
//
//go:build ignore

#include "fs_check.h"

int main(void) {
	scratch_cd();
	make_file("f", 0644, "shared", 6);
	struct stat st, st2;
	CHECK_OK(stat("f", &st));
	CHECK_EQ(st.st_nlink, 1);
	CHECK_OK(link("f", "g"));
	CHECK_OK(link("g", "h"));
	CHECK_OK(stat("f", &st2));
	CHECK_EQ(st2.st_nlink, 3);
	CHECK_EQ(ino("g"), st.st_ino);
	CHECK_EQ(ino("h"), st.st_ino);

	int fd = open("h", O_WRONLY | O_APPEND);
	CHECK(fd >= 0);
	CHECK_EQ(write(fd, "!", 1), 1);
	close(fd);
	char buf[16];
	CHECK_EQ(slurp("f", buf, sizeof buf), 7);
	CHECK_MEM(buf, "shared!", 7);

	CHECK_ERR(link("f", "g"), EEXIST);
	make_file("other", 0644, NULL, 0);
	CHECK_ERR(link("f", "other"), EEXIST);
	CHECK_OK(mkdir("d", 0755));
	CHECK_ERR(link("d", "d2"), EPERM);
	CHECK_ERR(link("f", "d"), EEXIST);
	CHECK_ERR(link("missing", "x"), ENOENT);
	CHECK_ERR(link("f", "missing/x"), ENOENT);
	CHECK_ERR(link("f/", "x"), ENOTDIR);
	CHECK_OK(link("f", "d/inside"));
	CHECK_OK(stat("f", &st2));
	CHECK_EQ(st2.st_nlink, 4);

	CHECK_OK(unlink("g"));
	CHECK_OK(unlink("f"));
	CHECK_OK(stat("h", &st2));
	CHECK_EQ(st2.st_nlink, 2);

	// Symlink sources.
	CHECK_OK(symlink("h", "sl"));
	CHECK_OK(link("sl", "sl2"));
	CHECK_OK(lstat("sl2", &st2));
	CHECK(S_ISLNK(st2.st_mode));
	CHECK_EQ(st2.st_ino, ino("sl"));
	CHECK_EQ(st2.st_nlink, 2);
	CHECK_OK(linkat(AT_FDCWD, "sl", AT_FDCWD, "followed", AT_SYMLINK_FOLLOW));
	CHECK_OK(lstat("followed", &st2));
	CHECK(S_ISREG(st2.st_mode));
	CHECK_EQ(st2.st_ino, st.st_ino);
	CHECK_EQ(st2.st_nlink, 3);
	CHECK_OK(symlink("nowhere", "dangling"));
	CHECK_ERR(linkat(AT_FDCWD, "dangling", AT_FDCWD, "x", AT_SYMLINK_FOLLOW), ENOENT);
	CHECK_OK(link("dangling", "dangling2")); // a dangling link itself is fine
	return 0;
}
