// fs_creat: creat(2) creates a write-only file with mode & ~umask,
// truncates an existing file (keeping its inode and mode), and reports
// EISDIR for a directory, ENOENT for a missing parent and ENOTDIR when a
// path component is a file.
//
//go:build ignore

#include "fs_check.h"

int main(void) {
	scratch_cd();
	umask(022);
	int fd = creat("f", 0666);
	CHECK(fd >= 0);
	CHECK_EQ(fcntl(fd, F_GETFL) & O_ACCMODE, O_WRONLY);
	char c;
	CHECK_ERR(read(fd, &c, 1), EBADF);
	CHECK_EQ(write(fd, "0123456789", 10), 10);
	struct stat st;
	CHECK_OK(fstat(fd, &st));
	CHECK(S_ISREG(st.st_mode));
	CHECK_EQ(st.st_mode & 07777, 0644);
	CHECK_EQ(st.st_size, 10);
	CHECK_EQ(st.st_nlink, 1);
	CHECK_EQ(st.st_uid, geteuid());
	ino_t i = st.st_ino;
	CHECK_OK(close(fd));

	// creat again: same inode, truncated, mode unchanged.
	fd = creat("f", 0600);
	CHECK(fd >= 0);
	CHECK_OK(fstat(fd, &st));
	CHECK_EQ(st.st_ino, i);
	CHECK_EQ(st.st_size, 0);
	CHECK_EQ(st.st_mode & 07777, 0644);
	CHECK_EQ(lseek(fd, 0, SEEK_CUR), 0);
	CHECK_OK(close(fd));

	// The umask applies; 0 mode creates an inaccessible-to-others file
	// that is still returned writable to the creator.
	umask(077);
	fd = creat("g", 0666);
	CHECK(fd >= 0);
	CHECK_OK(fstat(fd, &st));
	CHECK_EQ(st.st_mode & 07777, 0600);
	CHECK_OK(close(fd));
	fd = creat("h", 0);
	CHECK(fd >= 0);
	CHECK_EQ(write(fd, "x", 1), 1);
	CHECK_OK(fstat(fd, &st));
	CHECK_EQ(st.st_mode & 07777, 0);
	CHECK_OK(close(fd));

	CHECK_OK(mkdir("d", 0755));
	CHECK_ERR(creat("d", 0644), EISDIR);
	CHECK_ERR(creat("missing/f", 0644), ENOENT);
	CHECK_ERR(creat("f/x", 0644), ENOTDIR);
	CHECK_ERR(creat("", 0644), ENOENT);
	CHECK_ERR(creat(bad_addr(), 0644), EFAULT);
	return 0;
}
