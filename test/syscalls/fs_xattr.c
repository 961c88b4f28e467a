// fs_xattr: user.* extended attributes can be set, read back (binary
// values, empty values), listed (NUL-separated names) and removed on files
// and directories, through paths and fds; a missing attribute is ENODATA.
// (ext4 and tmpfs since Linux 6.6 support user.*; a file system without
// them answers EOPNOTSUPP, which is accepted and ends the test.)
//
//go:build ignore

#include "fs_check.h"
#include <sys/xattr.h>

static int has_name(const char *list, ssize_t n, const char *name) {
	for (ssize_t i = 0; i < n; i += strlen(list + i) + 1)
		if (!strcmp(list + i, name))
			return 1;
	return 0;
}

int main(void) {
	scratch_cd();
	make_file("f", 0644, NULL, 0);
	if (setxattr("f", "user.a", "1", 1, 0) != 0) {
		CHECK_EQ(errno, EOPNOTSUPP);
		return 0;
	}
	char v[64];
	CHECK_EQ(getxattr("f", "user.a", v, sizeof v), 1);
	CHECK_EQ(v[0], '1');
	unsigned char bin[5] = {0, 1, 0xff, 0, 2};
	CHECK_OK(setxattr("f", "user.bin", bin, sizeof bin, 0));
	CHECK_EQ(getxattr("f", "user.bin", v, sizeof v), 5);
	CHECK_MEM(v, bin, 5);
	CHECK_OK(setxattr("f", "user.empty", "", 0, 0));
	CHECK_EQ(getxattr("f", "user.empty", v, sizeof v), 0);

	char list[256];
	ssize_t n = listxattr("f", list, sizeof list);
	CHECK(n > 0);
	CHECK_EQ(list[n - 1], 0);
	CHECK(has_name(list, n, "user.a"));
	CHECK(has_name(list, n, "user.bin"));
	CHECK(has_name(list, n, "user.empty"));

	// Overwrite, then remove.
	CHECK_OK(setxattr("f", "user.a", "22", 2, 0));
	CHECK_EQ(getxattr("f", "user.a", v, sizeof v), 2);
	CHECK_OK(removexattr("f", "user.a"));
	CHECK_ERR(getxattr("f", "user.a", v, sizeof v), ENODATA);
	CHECK_ERR(removexattr("f", "user.a"), ENODATA);
	n = listxattr("f", list, sizeof list);
	CHECK(!has_name(list, n, "user.a"));

	// fd variants and directories.
	int fd = open("f", O_RDONLY);
	CHECK(fd >= 0);
	CHECK_OK(fsetxattr(fd, "user.fd", "via fd", 6, 0));
	CHECK_EQ(fgetxattr(fd, "user.fd", v, sizeof v), 6);
	CHECK_EQ(getxattr("f", "user.fd", v, sizeof v), 6);
	n = flistxattr(fd, list, sizeof list);
	CHECK(has_name(list, n, "user.fd"));
	CHECK_OK(fremovexattr(fd, "user.fd"));
	CHECK_ERR(fgetxattr(fd, "user.fd", v, sizeof v), ENODATA);
	CHECK_OK(mkdir("d", 0755));
	CHECK_OK(setxattr("d", "user.dir", "D", 1, 0));
	CHECK_EQ(getxattr("d", "user.dir", v, sizeof v), 1);

	// Attributes follow the inode: a hard link sees them, a copy does not.
	CHECK_OK(link("f", "g"));
	CHECK_EQ(getxattr("g", "user.bin", v, sizeof v), 5);
	CHECK_OK(rename("g", "h"));
	CHECK_EQ(getxattr("h", "user.bin", v, sizeof v), 5);
	make_file("other", 0644, NULL, 0);
	CHECK_ERR(getxattr("other", "user.bin", v, sizeof v), ENODATA);
	CHECK_ERR(getxattr("missing", "user.bin", v, sizeof v), ENOENT);
	close(fd);
	return 0;
}
