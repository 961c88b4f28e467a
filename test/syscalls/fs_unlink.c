// fs_unlink: unlink removes a name and drops nlink (the inode lives on
// under other names); a symlink is removed itself, not its target; a
// directory is EISDIR, a missing name ENOENT, a file used as a directory
// ENOTDIR, a trailing slash on a file ENOTDIR.
//
//go:build ignore

#include "fs_check.h"

int main(void) {
	scratch_cd();
	make_file("f", 0644, "data", 4);
	CHECK_OK(link("f", "g"));
	struct stat st;
	CHECK_OK(stat("g", &st));
	CHECK_EQ(st.st_nlink, 2);
	CHECK_OK(unlink("f"));
	CHECK(!lexists("f"));
	CHECK_OK(stat("g", &st));
	CHECK_EQ(st.st_nlink, 1);
	char buf[8];
	CHECK_EQ(slurp("g", buf, sizeof buf), 4);
	CHECK_ERR(unlink("f"), ENOENT);

	// Symlink: the link goes, the target stays.
	CHECK_OK(symlink("g", "l"));
	CHECK_OK(unlink("l"));
	CHECK(!lexists("l"));
	CHECK(lexists("g"));
	CHECK_OK(symlink("nowhere", "dangling"));
	CHECK_OK(unlink("dangling"));
	CHECK(!lexists("dangling"));

	CHECK_OK(mkdir("d", 0755));
	CHECK_ERR(unlink("d"), EISDIR);
	CHECK_ERR(unlink("d/"), EISDIR);
	CHECK_ERR(unlink("."), EISDIR);
	CHECK_ERR(unlink("g/"), ENOTDIR);
	CHECK_ERR(unlink("g/x"), ENOTDIR);
	CHECK_ERR(unlink("missing/x"), ENOENT);
	CHECK_ERR(unlink(""), ENOENT);
	CHECK_ERR(unlink(bad_addr()), EFAULT);

	// A symlink to a directory can be unlinked (the directory stays).
	CHECK_OK(symlink("d", "dl"));
	CHECK_OK(unlink("dl"));
	CHECK_OK(stat("d", &st));
	CHECK(S_ISDIR(st.st_mode));

	// FIFOs and sockets are unlinked like files.
	CHECK_OK(mkfifo("p", 0600));
	CHECK_OK(unlink("p"));
	CHECK(!lexists("p"));
	return 0;
}
