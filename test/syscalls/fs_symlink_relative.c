// fs_symlink_relative: a relative symlink target is resolved from the
// directory containing the link, not from the cwd; ".." in a target is
// applied after following (physical, not lexical); chains of relative
// links across directories resolve step by step.
//
//go:build ignore

#include "fs_check.h"

int main(void) {
	scratch_cd();
	CHECK_OK(mkdir("a", 0755));
	CHECK_OK(mkdir("a/b", 0755));
	CHECK_OK(mkdir("c", 0755));
	make_file("a/file", 0644, "in a", 4);
	make_file("file", 0644, "top!!", 5);

	CHECK_OK(symlink("../file", "a/b/up")); // a/file
	struct stat st;
	CHECK_OK(stat("a/b/up", &st));
	CHECK_EQ(st.st_ino, ino("a/file"));
	CHECK_OK(symlink("file", "a/same")); // a/file, not ./file
	char buf[8];
	CHECK_EQ(slurp("a/same", buf, sizeof buf), 4);

	// c/tob -> ../a/b; c/tob/.. is a (the physical parent), not c.
	CHECK_OK(symlink("../a/b", "c/tob"));
	CHECK_OK(stat("c/tob/..", &st));
	CHECK_EQ(st.st_ino, ino("a"));
	CHECK_EQ(slurp("c/tob/../file", buf, sizeof buf), 4);

	// A chain: l1 -> c/l2 -> ../a/b/up -> ../file.
	CHECK_OK(symlink("../a/b/up", "c/l2"));
	CHECK_OK(symlink("c/l2", "l1"));
	CHECK_EQ(slurp("l1", buf, sizeof buf), 4);
	CHECK_MEM(buf, "in a", 4);

	// From another cwd the result is the same.
	CHECK_OK(chdir("c"));
	CHECK_EQ(slurp("../l1", buf, sizeof buf), 4);
	CHECK_EQ(slurp("tob/up", buf, sizeof buf), 4);
	CHECK_OK(chdir(".."));

	// Absolute targets ignore the link's directory.
	CHECK_OK(symlink(spath("file"), "a/abs"));
	CHECK_EQ(slurp("a/abs", buf, sizeof buf), 5);

	// A symlink to a directory as an intermediate component, then ".".
	CHECK_OK(symlink("a", "al"));
	CHECK_OK(stat("al/./b/../file", &st));
	CHECK_EQ(st.st_ino, ino("a/file"));
	// readlink reports the stored text, not the resolution.
	char t[64];
	CHECK_EQ(readlink("c/tob", t, sizeof t), 6);
	CHECK_MEM(t, "../a/b", 6);
	return 0;
}
