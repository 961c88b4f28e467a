// fs_symlink_loop: self-referencing and mutual symlinks give ELOOP on any
// following access (stat, open, chdir, as an intermediate component) but
// can be lstat-ed, readlink-ed and unlinked; Linux follows at most 40 links
// in one resolution: a chain of 40 works, 41 is ELOOP.
//
//go:build ignore

#include "fs_check.h"

int main(void) {
	scratch_cd();
	CHECK_OK(symlink("self", "self"));
	CHECK_OK(symlink("b", "a"));
	CHECK_OK(symlink("a", "b"));
	struct stat st;
	CHECK_ERR(stat("self", &st), ELOOP);
	CHECK_ERR(stat("a", &st), ELOOP);
	CHECK_ERR(open("b", O_RDONLY), ELOOP);
	CHECK_ERR(open("a", O_WRONLY | O_CREAT, 0644), ELOOP);
	CHECK_ERR(chdir("a"), ELOOP);
	CHECK_ERR(stat("a/x", &st), ELOOP);
	CHECK_ERR(mkdir("a/x", 0755), ELOOP);
	CHECK_ERR(access("self", F_OK), ELOOP);
	CHECK_OK(lstat("a", &st));
	CHECK(S_ISLNK(st.st_mode));
	char buf[8];
	CHECK_EQ(readlink("self", buf, sizeof buf), 4);

	// A chain of n links ending in a file: n = 40 resolves, 41 does not.
	make_file("end", 0644, NULL, 0);
	char name[16], prev[16] = "end";
	for (int i = 1; i <= 41; i++) {
		snprintf(name, sizeof name, "c%02d", i);
		CHECK_OK(symlink(prev, name));
		strcpy(prev, name);
	}
	CHECK_OK(stat("c40", &st));
	CHECK_EQ(st.st_ino, ino("end"));
	CHECK_ERR(stat("c41", &st), ELOOP);
	CHECK_OK(lstat("c41", &st));

	// Loops through directories: d/up -> .. is not a loop at all.
	CHECK_OK(mkdir("d", 0755));
	CHECK_OK(symlink("..", "d/up"));
	CHECK_OK(stat("d/up/d/up/d/up/end", &st));

	CHECK_OK(unlink("a"));
	CHECK_ERR(stat("b", &st), ENOENT); // now merely dangling
	CHECK_OK(unlink("self"));
	return 0;
}
