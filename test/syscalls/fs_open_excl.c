// fs_open_excl: O_CREAT|O_EXCL creates only a new name: an existing file,
// directory or symlink (even a dangling one, which is not followed) gives
// EEXIST; without O_CREAT, O_EXCL on a regular file is ignored.
//
//go:build ignore

#include "fs_check.h"

int main(void) {
	scratch_cd();
	int fd = open("f", O_RDWR | O_CREAT | O_EXCL, 0644);
	CHECK(fd >= 0);
	CHECK_EQ(write(fd, "abc", 3), 3);
	CHECK_OK(close(fd));
	CHECK_ERR(open("f", O_RDWR | O_CREAT | O_EXCL, 0644), EEXIST);
	CHECK_ERR(open("f", O_RDONLY | O_CREAT | O_EXCL | O_TRUNC, 0644), EEXIST);
	CHECK_EQ(fsize("f"), 3); // untouched by the failed O_TRUNC

	CHECK_OK(mkdir("d", 0755));
	CHECK_ERR(open("d", O_RDONLY | O_CREAT | O_EXCL, 0644), EEXIST);

	// A dangling symlink is not followed by O_EXCL.
	CHECK_OK(symlink("target", "dangling"));
	CHECK_ERR(open("dangling", O_WRONLY | O_CREAT | O_EXCL, 0644), EEXIST);
	CHECK(!lexists("target"));
	CHECK_OK(symlink("f", "good"));
	CHECK_ERR(open("good", O_WRONLY | O_CREAT | O_EXCL, 0644), EEXIST);

	// O_EXCL without O_CREAT on a regular file: no effect.
	fd = open("f", O_RDONLY | O_EXCL);
	CHECK(fd >= 0);
	char buf[4];
	CHECK_EQ(read(fd, buf, sizeof buf), 3);
	CHECK_OK(close(fd));

	// Only one of many exclusive creates of the same name wins.
	int wins = 0;
	for (int i = 0; i < 5; i++) {
		fd = open("once", O_WRONLY | O_CREAT | O_EXCL, 0600);
		if (fd >= 0) {
			wins++;
			close(fd);
		} else {
			CHECK_EQ(errno, EEXIST);
		}
	}
	CHECK_EQ(wins, 1);
	CHECK_ERR(open("nodir/f", O_WRONLY | O_CREAT | O_EXCL, 0600), ENOENT);
	return 0;
}
