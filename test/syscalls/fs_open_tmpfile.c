// fs_open_tmpfile: O_TMPFILE creates an unnamed regular file in a
// directory (not listed, nlink 0) that can be read and written and later
// given a name with linkat(/proc/self/fd/N, AT_SYMLINK_FOLLOW), unless it
// was opened with O_EXCL (ENOENT). O_TMPFILE needs write access (EINVAL
// for O_RDONLY) and a directory (ENOTDIR). ext4 and tmpfs both support it.
//
//go:build ignore

#include "fs_check.h"

static int count_entries(void) {
	DIR *d = opendir(".");
	CHECK(d != NULL);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

int main(void) {
	scratch_cd();
	int fd = open(".", O_TMPFILE | O_RDWR, 0640);
	CHECK(fd >= 0);
	struct stat st;
	CHECK_OK(fstat(fd, &st));
	CHECK(S_ISREG(st.st_mode));
	CHECK_EQ(st.st_nlink, 0);
	CHECK_EQ(count_entries(), 0);
	CHECK_EQ(write(fd, "anon data", 9), 9);
	char buf[16];
	CHECK_EQ(pread(fd, buf, sizeof buf, 0), 9);
	CHECK_MEM(buf, "anon data", 9);

	char proc[64];
	snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
	CHECK_OK(linkat(AT_FDCWD, proc, AT_FDCWD, "named", AT_SYMLINK_FOLLOW));
	CHECK_OK(fstat(fd, &st));
	CHECK_EQ(st.st_nlink, 1);
	CHECK_EQ(ino("named"), st.st_ino);
	CHECK_EQ(count_entries(), 1);
	CHECK_EQ(slurp("named", buf, sizeof buf), 9);
	CHECK_MEM(buf, "anon data", 9);
	// Linking again under a taken name fails; another name works.
	CHECK_ERR(linkat(AT_FDCWD, proc, AT_FDCWD, "named", AT_SYMLINK_FOLLOW), EEXIST);
	CHECK_OK(close(fd));

	// O_EXCL: can never be linked.
	fd = open(".", O_TMPFILE | O_WRONLY | O_EXCL, 0600);
	CHECK(fd >= 0);
	snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
	CHECK_ERR(linkat(AT_FDCWD, proc, AT_FDCWD, "never", AT_SYMLINK_FOLLOW), ENOENT);
	CHECK(!lexists("never"));
	CHECK_OK(close(fd));

	// A directory that holds the file can be removed while it is open.
	CHECK_OK(mkdir("sub", 0755));
	fd = open("sub", O_TMPFILE | O_RDWR, 0600);
	CHECK(fd >= 0);
	CHECK_OK(rmdir("sub"));
	CHECK_EQ(write(fd, "x", 1), 1);
	CHECK_OK(close(fd));

	CHECK_ERR(open(".", O_TMPFILE | O_RDONLY, 0600), EINVAL);
	CHECK_ERR(open("named", O_TMPFILE | O_RDWR, 0600), ENOTDIR);
	CHECK_ERR(open("missing", O_TMPFILE | O_RDWR, 0600), ENOENT);
	CHECK_EQ(count_entries(), 1);
	return 0;
}
