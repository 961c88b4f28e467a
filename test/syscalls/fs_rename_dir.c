// fs_rename_dir: a directory can replace an empty directory but not a
// non-empty one (ENOTEMPTY) nor a file (ENOTDIR); a file cannot replace a
// directory (EISDIR); a directory cannot move into its own subtree
// (EINVAL); "." or ".." as a component to rename is EBUSY. Moving a
// directory keeps its contents and updates its "..".
//
//go:build ignore

#include "fs_check.h"

int main(void) {
	scratch_cd();
	CHECK_OK(mkdir("src", 0755));
	make_file("src/inside", 0644, "in", 2);
	CHECK_OK(mkdir("empty", 0755));
	CHECK_OK(mkdir("full", 0755));
	make_file("full/x", 0644, NULL, 0);
	make_file("file", 0644, NULL, 0);

	CHECK_ERR(rename("src", "full"), ENOTEMPTY);
	CHECK_ERR(rename("src", "file"), ENOTDIR);
	CHECK_ERR(rename("file", "empty"), EISDIR);
	CHECK_ERR(rename("src", "src/sub"), EINVAL);
	CHECK_OK(mkdir("src/deeper", 0755));
	CHECK_ERR(rename("src", "src/deeper/x"), EINVAL);
	CHECK_ERR(rename(".", "x"), EBUSY);
	CHECK_ERR(rename("src/.", "x"), EBUSY);
	CHECK_ERR(rename("src/..", "x"), EBUSY);
	CHECK_ERR(rename("file", "src/."), EBUSY);
	CHECK_ERR(rename("missing", "x"), ENOENT);
	CHECK_ERR(rename("file", "missing/x"), ENOENT);
	CHECK_ERR(rename("file/", "x"), ENOTDIR);
	CHECK_ERR(rename("file", "file2/"), ENOTDIR);

	ino_t isrc = ino("src");
	CHECK_OK(rename("src", "empty"));
	CHECK(!lexists("src"));
	CHECK_EQ(ino("empty"), isrc);
	char buf[4];
	CHECK_EQ(slurp("empty/inside", buf, sizeof buf), 2);

	// Move into another parent: ".." follows, link counts move (when
	// the file system counts subdirectories, as ext4 and tmpfs do).
	struct stat full0, full1, root0, root1, st;
	CHECK_OK(stat("full", &full0));
	CHECK_OK(stat(".", &root0));
	CHECK_OK(rename("empty", "full/moved/"));
	CHECK_OK(stat("full", &full1));
	CHECK_OK(stat(".", &root1));
	if (full0.st_nlink > 1) {
		CHECK_EQ(full1.st_nlink, full0.st_nlink + 1);
		CHECK_EQ(root1.st_nlink, root0.st_nlink - 1);
	}
	CHECK_OK(stat("full/moved/..", &st));
	CHECK_EQ(st.st_ino, full1.st_ino);
	CHECK_EQ(slurp("full/moved/inside", buf, sizeof buf), 2);

	// Out again, up the tree, is allowed.
	CHECK_OK(rename("full/moved/deeper", "up"));
	CHECK_OK(stat("up/..", &st));
	CHECK_EQ(st.st_ino, root1.st_ino);
	return 0;
}
