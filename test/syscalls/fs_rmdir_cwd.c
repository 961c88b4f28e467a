// fs_rmdir_cwd: Linux lets a process remove its own working directory:
// getcwd then fails with ENOENT, "." still stats (nlink 0), nothing can be
// created in it, and ".." still leads back to the parent.
//
//go:build ignore

#include "fs_check.h"

int main(void) {
	const char *root = scratch();
	CHECK_OK(mkdir(spath("gone"), 0755));
	CHECK_OK(chdir(spath("gone")));
	char buf[4096];
	CHECK(getcwd(buf, sizeof buf) != NULL);
	CHECK_EQ(strcmp(buf, spath("gone")), 0);

	CHECK_OK(rmdir(spath("gone")));
	errno = 0;
	CHECK(getcwd(buf, sizeof buf) == NULL);
	CHECK_EQ(errno, ENOENT);
	// The raw syscall reports it too.
	CHECK_ERR(syscall(SYS_getcwd, buf, sizeof buf), ENOENT);

	struct stat st;
	CHECK_OK(stat(".", &st));
	CHECK(S_ISDIR(st.st_mode));
	CHECK_EQ(st.st_nlink, 0);
	CHECK_ERR(open("f", O_CREAT | O_WRONLY, 0644), ENOENT);
	CHECK_ERR(mkdir("sub", 0755), ENOENT);
	CHECK_ERR(symlink("x", "l"), ENOENT);
	CHECK_ERR(mkfifo("p", 0644), ENOENT);
	CHECK_ERR(open("f", O_RDONLY), ENOENT);

	// ".." is still the old parent.
	struct stat parent;
	CHECK_OK(stat("..", &st));
	CHECK_OK(stat(root, &parent));
	CHECK_EQ(st.st_ino, parent.st_ino);
	CHECK_EQ(st.st_dev, parent.st_dev);
	CHECK_OK(chdir(".."));
	CHECK(getcwd(buf, sizeof buf) != NULL);
	CHECK_EQ(strcmp(buf, root), 0);
	return 0;
}
