// fs_utimensat_nofollow: utimensat with AT_SYMLINK_NOFOLLOW sets the times
// of a symlink itself (the target is untouched), without it the target's;
// a NULL path with a dirfd (the raw syscall) acts on the fd; AT_EMPTY_PATH
// with "" acts on the fd; directories work like files.
//
//go:build ignore

#include "fs_check.h"

int main(void) {
	scratch_cd();
	make_file("f", 0644, NULL, 0);
	struct timespec base[2] = {{100, 0}, {200, 0}};
	CHECK_OK(utimensat(AT_FDCWD, "f", base, 0));
	CHECK_OK(symlink("f", "l"));

	struct timespec t[2] = {{300, 1}, {400, 2}};
	CHECK_OK(utimensat(AT_FDCWD, "l", t, AT_SYMLINK_NOFOLLOW));
	struct stat st;
	CHECK_OK(lstat("l", &st));
	CHECK_EQ(st.st_atime, 300);
	CHECK_EQ(st.st_mtime, 400);
	CHECK_EQ(st.st_mtim.tv_nsec, 2);
	CHECK_OK(stat("f", &st));
	CHECK_EQ(st.st_atime, 100);
	CHECK_EQ(st.st_mtime, 200);

	struct timespec t2[2] = {{500, 0}, {600, 0}};
	CHECK_OK(utimensat(AT_FDCWD, "l", t2, 0));
	CHECK_OK(stat("f", &st));
	CHECK_EQ(st.st_mtime, 600);
	CHECK_OK(lstat("l", &st));
	CHECK_EQ(st.st_mtime, 400);

	// A dangling symlink: only NOFOLLOW works.
	CHECK_OK(symlink("nowhere", "dangling"));
	CHECK_ERR(utimensat(AT_FDCWD, "dangling", t, 0), ENOENT);
	CHECK_OK(utimensat(AT_FDCWD, "dangling", t, AT_SYMLINK_NOFOLLOW));

	// The fd forms.
	int fd = open("f", O_RDONLY);
	CHECK(fd >= 0);
	struct timespec t3[2] = {{700, 0}, {800, 0}};
	CHECK_EQ(syscall(SYS_utimensat, fd, NULL, t3, 0), 0);
	CHECK_OK(stat("f", &st));
	CHECK_EQ(st.st_mtime, 800);
	struct timespec t4[2] = {{900, 0}, {1000, 0}};
	CHECK_OK(utimensat(fd, "", t4, AT_EMPTY_PATH));
	CHECK_OK(stat("f", &st));
	CHECK_EQ(st.st_mtime, 1000);
	CHECK_ERR(utimensat(fd, "", t4, 0), ENOENT);

	CHECK_OK(mkdir("d", 0755));
	CHECK_OK(utimensat(AT_FDCWD, "d", t, 0));
	CHECK_OK(stat("d", &st));
	CHECK_EQ(st.st_mtime, 400);
	close(fd);
	return 0;
}
