// fs_mkdir: mkdir creates an empty directory with mode & ~umask & 01777
// (S_ISUID/S_ISGID bits are not set from the mode); any existing name
// (file, directory, even a dangling symlink) is EEXIST; a missing parent is
// ENOENT and a file in the path ENOTDIR; a trailing slash is fine. A new
// directory has nlink 2 and adds one to its parent's link count (true on
// ext4 and tmpfs; some file systems such as btrfs always report 1, so the
// parent count is only checked when it is above 1).
//
//go:build ignore

#include "fs_check.h"

int main(void) {
	scratch_cd();
	umask(022);
	struct stat st, parent;
	CHECK_OK(stat(".", &parent));
	CHECK_OK(mkdir("d", 0777));
	CHECK_OK(stat("d", &st));
	CHECK(S_ISDIR(st.st_mode));
	CHECK_EQ(st.st_mode & 07777, 0755);
	CHECK_EQ(st.st_nlink, 2);
	CHECK_EQ(st.st_uid, geteuid());
	struct stat p2;
	CHECK_OK(stat(".", &p2));
	if (parent.st_nlink > 1)
		CHECK_EQ(p2.st_nlink, parent.st_nlink + 1);

	// The new directory is empty: "." and ".." only.
	DIR *dir = opendir("d");
	CHECK(dir != NULL);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(dir)) != NULL) {
		CHECK(!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."));
		n++;
	}
	CHECK_EQ(n, 2);
	closedir(dir);
	CHECK_OK(stat("d/..", &st));
	CHECK_EQ(st.st_ino, p2.st_ino);

	CHECK_OK(mkdir("m", 07777));
	CHECK_OK(stat("m", &st));
	CHECK_EQ(st.st_mode & 07000, S_ISVTX); // only the sticky bit survives
	umask(0);
	CHECK_OK(mkdir("u", 0711));
	CHECK_OK(stat("u", &st));
	CHECK_EQ(st.st_mode & 0777, 0711);

	make_file("f", 0644, NULL, 0);
	CHECK_OK(symlink("nowhere", "dangling"));
	CHECK_ERR(mkdir("d", 0755), EEXIST);
	CHECK_ERR(mkdir("f", 0755), EEXIST);
	CHECK_ERR(mkdir("dangling", 0755), EEXIST);
	CHECK(!lexists("nowhere"));
	CHECK_ERR(mkdir(".", 0755), EEXIST);
	CHECK_ERR(mkdir("missing/x", 0755), ENOENT);
	CHECK_ERR(mkdir("f/x", 0755), ENOTDIR);
	CHECK_ERR(mkdir("", 0755), ENOENT);
	CHECK_OK(mkdir("t/", 0755));
	CHECK_OK(stat("t", &st));
	CHECK(S_ISDIR(st.st_mode));
	CHECK_OK(mkdir("d/e/", 0755));
	CHECK_OK(mkdir("d/e/f", 0755));
	CHECK_OK(stat("d/e/f/../..", &st));
	CHECK_EQ(st.st_ino, ino("d"));
	return 0;
}
