// fs_renameat2_exchange: RENAME_EXCHANGE atomically swaps two names (both
// must exist, else ENOENT), including a file with a directory and entries
// in different directories; inode numbers travel with the contents and a
// moved directory's ".." is updated.
//
//go:build ignore

#include "fs_check.h"

int main(void) {
	scratch_cd();
	make_file("a", 0644, "A", 1);
	make_file("b", 0600, "BB", 2);
	ino_t ia = ino("a"), ib = ino("b");
	CHECK_OK(renameat2(AT_FDCWD, "a", AT_FDCWD, "b", RENAME_EXCHANGE));
	CHECK_EQ(ino("a"), ib);
	CHECK_EQ(ino("b"), ia);
	CHECK_EQ(fsize("a"), 2);
	CHECK_EQ(fsize("b"), 1);

	// File <-> directory, across parents.
	CHECK_OK(mkdir("d", 0755));
	CHECK_OK(mkdir("p", 0755));
	make_file("d/inner", 0644, NULL, 0);
	ino_t id = ino("d");
	CHECK_OK(renameat2(AT_FDCWD, "a", AT_FDCWD, "p/../d", RENAME_EXCHANGE));
	struct stat st;
	CHECK_OK(lstat("a", &st));
	CHECK(S_ISDIR(st.st_mode));
	CHECK_EQ(st.st_ino, id);
	CHECK(lexists("a/inner"));
	CHECK_OK(lstat("d", &st));
	CHECK(S_ISREG(st.st_mode));
	CHECK_EQ(st.st_ino, ib);

	// Swap a directory in p/ with a file here: p/sub's ".." becomes ".".
	CHECK_OK(mkdir("p/sub", 0755));
	ino_t isub = ino("p/sub");
	CHECK_OK(renameat2(AT_FDCWD, "p/sub", AT_FDCWD, "b", RENAME_EXCHANGE));
	CHECK_EQ(ino("b"), isub);
	CHECK_OK(stat("b/..", &st));
	CHECK_EQ(st.st_ino, ino("."));
	CHECK_OK(lstat("p/sub", &st));
	CHECK(S_ISREG(st.st_mode));
	CHECK_EQ(st.st_ino, ia);

	// Non-empty directories can be exchanged (nothing is destroyed).
	make_file("b/x", 0644, NULL, 0);
	CHECK_OK(renameat2(AT_FDCWD, "a", AT_FDCWD, "b", RENAME_EXCHANGE));
	CHECK(lexists("a/x"));
	CHECK(lexists("b/inner"));

	// Symlinks are exchanged as themselves.
	CHECK_OK(symlink("target", "l"));
	CHECK_OK(renameat2(AT_FDCWD, "l", AT_FDCWD, "d", RENAME_EXCHANGE));
	CHECK_OK(lstat("d", &st));
	CHECK(S_ISLNK(st.st_mode));

	CHECK_ERR(renameat2(AT_FDCWD, "d", AT_FDCWD, "missing", RENAME_EXCHANGE), ENOENT);
	CHECK_ERR(renameat2(AT_FDCWD, "missing", AT_FDCWD, "d", RENAME_EXCHANGE), ENOENT);
	CHECK_ERR(renameat2(AT_FDCWD, "a", AT_FDCWD, "a/x", RENAME_EXCHANGE), EINVAL);
	CHECK_OK(renameat2(AT_FDCWD, "d", AT_FDCWD, "d", RENAME_EXCHANGE));
	return 0;
}
