// fs_symlink: symlink stores its target verbatim (lstat: S_IFLNK, size =
// target length, mode 0777 regardless of umask); the target need not exist;
// an existing name is EEXIST; an empty target is ENOENT; a target longer
// than PATH_MAX-1 is ENAMETOOLONG; readlink returns it without a NUL.
//
//go:build ignore

#include "fs_check.h"

int main(void) {
	scratch_cd();
	umask(077);
	CHECK_OK(symlink("some/where/../target", "l"));
	struct stat st;
	CHECK_OK(lstat("l", &st));
	CHECK(S_ISLNK(st.st_mode));
	CHECK_EQ(st.st_mode & 0777, 0777);
	CHECK_EQ(st.st_size, 20);
	CHECK_EQ(st.st_nlink, 1);
	char buf[4096];
	memset(buf, 'Z', sizeof buf);
	CHECK_EQ(readlink("l", buf, sizeof buf), 20);
	CHECK_MEM(buf, "some/where/../target", 20);
	CHECK_EQ(buf[20], 'Z');
	CHECK_ERR(stat("l", &st), ENOENT);

	// Once the target appears, the link resolves to it.
	make_file("target", 0644, "T", 1);
	CHECK_OK(symlink("target", "l2"));
	CHECK_OK(stat("l2", &st));
	CHECK(S_ISREG(st.st_mode));
	CHECK_EQ(st.st_ino, ino("target"));

	// Odd but legal targets.
	CHECK_OK(symlink("/", "root"));
	CHECK_OK(stat("root/.", &st));
	CHECK_OK(symlink("x y\nz", "weird"));
	CHECK_EQ(readlink("weird", buf, sizeof buf), 5);
	char longt[4096];
	memset(longt, 'a', sizeof longt);
	longt[4095] = 0; // 4095 bytes: the maximum
	CHECK_OK(symlink(longt, "long"));
	CHECK_EQ(readlink("long", buf, sizeof buf), 4095);
	CHECK_OK(lstat("long", &st));
	CHECK_EQ(st.st_size, 4095);

	CHECK_ERR(symlink("target", "l"), EEXIST);
	CHECK_ERR(symlink("target", "target"), EEXIST);
	CHECK_ERR(symlink("", "empty"), ENOENT);
	CHECK_ERR(symlink("target", "missing/l"), ENOENT);
	CHECK_ERR(symlink("target", "target/l"), ENOTDIR);
	CHECK_OK(mkdir("d", 0755));
	CHECK_ERR(symlink("target", "d"), EEXIST);
	// symlinkat with a dirfd.
	int d = open("d", O_RDONLY | O_DIRECTORY);
	CHECK(d >= 0);
	CHECK_OK(symlinkat("../target", d, "up"));
	CHECK_OK(stat("d/up", &st));
	CHECK_EQ(st.st_ino, ino("target"));
	CHECK_ERR(symlinkat("x", 1000, "y"), EBADF);
	close(d);
	return 0;
}
