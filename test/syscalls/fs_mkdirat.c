// fs_mkdirat: mkdirat resolves relative names against a directory fd
// (AT_FDCWD is the cwd), ignores the fd for absolute names, and fails with
// EBADF for a bad fd and ENOTDIR for a non-directory fd.
//
//go:build ignore

#include "fs_check.h"

int main(void) {
	const char *root = scratch();
	CHECK_OK(mkdir(spath("a"), 0755));
	int a = open(spath("a"), O_RDONLY | O_DIRECTORY);
	CHECK(a >= 0);
	CHECK_OK(mkdirat(a, "b", 0700));
	struct stat st;
	CHECK_OK(stat(spath("a/b"), &st));
	CHECK(S_ISDIR(st.st_mode));
	CHECK_EQ(st.st_mode & 0777, 0700 & ~(mode_t)umask(umask(0)));
	CHECK_ERR(mkdirat(a, "b", 0700), EEXIST);
	CHECK_OK(mkdirat(a, "b/c", 0700));
	CHECK_OK(mkdirat(a, "../sibling", 0755));
	CHECK_OK(stat(spath("sibling"), &st));

	// Absolute path: the fd is ignored (even a bad one).
	CHECK_OK(mkdirat(a, spath("abs"), 0755));
	CHECK_OK(mkdirat(-1, spath("abs2"), 0755));
	CHECK_OK(stat(spath("abs2"), &st));

	CHECK_OK(chdir(root));
	CHECK_OK(mkdirat(AT_FDCWD, "cwd", 0755));
	CHECK_OK(stat(spath("cwd"), &st));

	// O_PATH directory descriptors work as dirfd.
	int p = open(spath("a"), O_PATH | O_DIRECTORY);
	CHECK(p >= 0);
	CHECK_OK(mkdirat(p, "viapath", 0755));
	CHECK_OK(stat(spath("a/viapath"), &st));

	// The directory fd keeps working after the directory is renamed.
	CHECK_OK(rename(spath("a"), spath("renamed")));
	CHECK_OK(mkdirat(a, "after", 0755));
	CHECK_OK(stat(spath("renamed/after"), &st));

	make_file(spath("file"), 0644, NULL, 0);
	int f = open(spath("file"), O_RDONLY);
	CHECK(f >= 0);
	CHECK_ERR(mkdirat(f, "x", 0755), ENOTDIR);
	CHECK_ERR(mkdirat(1000, "x", 0755), EBADF);
	CHECK_ERR(mkdirat(a, "missing/x", 0755), ENOENT);
	close(f);
	close(p);
	close(a);
	return 0;
}
