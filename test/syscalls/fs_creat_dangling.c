// fs_creat_dangling: open(O_CREAT) through a dangling symlink creates the
// link's target (relative to the link's directory); O_CREAT|O_NOFOLLOW on
// a symlink is ELOOP; O_CREAT on a symlink to an existing file opens it.
//
//go:build ignore

#include "fs_check.h"

int main(void) {
	scratch_cd();
	CHECK_OK(mkdir("d", 0755));
	CHECK_OK(symlink("target", "d/link")); // relative to d/
	int fd = open("d/link", O_WRONLY | O_CREAT, 0600);
	CHECK(fd >= 0);
	CHECK_EQ(write(fd, "via link", 8), 8);
	CHECK_OK(close(fd));
	CHECK(!lexists("target"));
	CHECK_EQ(fsize("d/target"), 8);
	struct stat st;
	CHECK_OK(lstat("d/link", &st));
	CHECK(S_ISLNK(st.st_mode));
	CHECK_OK(lstat("d/target", &st));
	CHECK(S_ISREG(st.st_mode));
	CHECK_EQ(st.st_mode & 07777, 0600 & ~(mode_t)umask(umask(0)));

	// Now the link resolves: O_CREAT opens the existing target.
	fd = open("d/link", O_RDONLY | O_CREAT, 0600);
	CHECK(fd >= 0);
	char buf[16];
	CHECK_EQ(read(fd, buf, sizeof buf), 8);
	CHECK_MEM(buf, "via link", 8);
	CHECK_OK(close(fd));

	// O_NOFOLLOW refuses the final symlink either way.
	CHECK_OK(symlink("other", "d/link2"));
	CHECK_ERR(open("d/link2", O_WRONLY | O_CREAT | O_NOFOLLOW, 0600), ELOOP);
	CHECK_ERR(open("d/link", O_RDONLY | O_CREAT | O_NOFOLLOW, 0600), ELOOP);
	CHECK(!lexists("d/other"));

	// A dangling link into a missing directory: ENOENT.
	CHECK_OK(symlink("nodir/x", "d/link3"));
	CHECK_ERR(open("d/link3", O_WRONLY | O_CREAT, 0600), ENOENT);
	return 0;
}
