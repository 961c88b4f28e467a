// fs_symlink_nofollow: O_NOFOLLOW on a final symlink is ELOOP (intermediate
// links are still followed; with O_DIRECTORY it is ENOTDIR); O_PATH|O_NOFOLLOW opens the link itself,
// which fstat and fstatat(AT_EMPTY_PATH) report as S_IFLNK and
// readlinkat(fd, "") reads; such an fd cannot be read (EBADF).
//
//go:build ignore

#include "fs_check.h"

int main(void) {
	scratch_cd();
	make_file("f", 0644, "file", 4);
	CHECK_OK(mkdir("d", 0755));
	make_file("d/g", 0644, NULL, 0);
	CHECK_OK(symlink("f", "l"));
	CHECK_OK(symlink("d", "dl"));
	CHECK_OK(symlink("nowhere", "dangling"));

	CHECK_ERR(open("l", O_RDONLY | O_NOFOLLOW), ELOOP);
	CHECK_ERR(open("dangling", O_RDONLY | O_NOFOLLOW), ELOOP);
	// With O_DIRECTORY the unfollowed link is "not a directory".
	CHECK_ERR(open("dl", O_RDONLY | O_NOFOLLOW | O_DIRECTORY), ENOTDIR);
	int fd = open("dl/g", O_RDONLY | O_NOFOLLOW); // intermediate: followed
	CHECK(fd >= 0);
	close(fd);
	fd = open("f", O_RDONLY | O_NOFOLLOW);
	CHECK(fd >= 0);
	close(fd);

	int p = open("l", O_PATH | O_NOFOLLOW);
	CHECK(p >= 0);
	struct stat st;
	CHECK_OK(fstat(p, &st));
	CHECK(S_ISLNK(st.st_mode));
	CHECK_EQ(st.st_ino, ino("l"));
	CHECK_OK(fstatat(p, "", &st, AT_EMPTY_PATH));
	CHECK(S_ISLNK(st.st_mode));
	char buf[16];
	CHECK_EQ(readlinkat(p, "", buf, sizeof buf), 1);
	CHECK_EQ(buf[0], 'f');
	CHECK_ERR(read(p, buf, 1), EBADF);
	CHECK_EQ(fcntl(p, F_GETFL) & O_PATH, O_PATH);
	close(p);

	// The dangling one too.
	p = open("dangling", O_PATH | O_NOFOLLOW);
	CHECK(p >= 0);
	CHECK_EQ(readlinkat(p, "", buf, sizeof buf), 7);
	CHECK_MEM(buf, "nowhere", 7);
	close(p);

	// O_PATH without O_NOFOLLOW follows to the file.
	p = open("l", O_PATH);
	CHECK(p >= 0);
	CHECK_OK(fstat(p, &st));
	CHECK(S_ISREG(st.st_mode));
	CHECK_ERR(readlinkat(p, "", buf, sizeof buf), ENOENT);
	close(p);

	// fstatat/AT_SYMLINK_NOFOLLOW and fchownat-like lookups.
	CHECK_OK(fstatat(AT_FDCWD, "dl", &st, AT_SYMLINK_NOFOLLOW));
	CHECK(S_ISLNK(st.st_mode));
	CHECK_OK(fstatat(AT_FDCWD, "dl", &st, 0));
	CHECK(S_ISDIR(st.st_mode));
	return 0;
}
