// fs_open_trunc: O_TRUNC empties an existing regular file opened for
// writing (keeping inode and mode), has no effect on a new file, is ignored
// for a FIFO, and the truncation updates mtime and ctime; opening a
// directory for writing is EISDIR.
//
//go:build ignore

#include "fs_check.h"

int main(void) {
	scratch_cd();
	make_file("f", 0640, "hello world", 11);
	struct timespec old[2] = {{1000, 0}, {1000, 0}};
	CHECK_OK(utimensat(AT_FDCWD, "f", old, 0));
	struct stat before, st;
	CHECK_OK(stat("f", &before));

	int fd = open("f", O_RDWR | O_TRUNC);
	CHECK(fd >= 0);
	CHECK_OK(fstat(fd, &st));
	CHECK_EQ(st.st_size, 0);
	CHECK_EQ(st.st_ino, before.st_ino);
	CHECK_EQ(st.st_mode & 07777, 0640);
	CHECK(st.st_mtime > 1000);
	CHECK(st.st_ctim.tv_sec > before.st_ctim.tv_sec ||
	      (st.st_ctim.tv_sec == before.st_ctim.tv_sec && st.st_ctim.tv_nsec >= before.st_ctim.tv_nsec));
	char buf[16];
	CHECK_EQ(read(fd, buf, sizeof buf), 0);
	CHECK_EQ(write(fd, "xy", 2), 2);
	CHECK_OK(close(fd));

	// Write-only with O_TRUNC, then the data is exactly the new bytes.
	fd = open("f", O_WRONLY | O_TRUNC);
	CHECK(fd >= 0);
	CHECK_EQ(write(fd, "z", 1), 1);
	CHECK_OK(close(fd));
	CHECK_EQ(slurp("f", buf, sizeof buf), 1);
	CHECK_EQ(buf[0], 'z');

	// A new file with O_TRUNC is simply created.
	fd = open("g", O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0);
	CHECK_OK(close(fd));
	CHECK_EQ(fsize("g"), 0);

	// O_TRUNC on a FIFO is ignored (no error).
	CHECK_OK(mkfifo("p", 0600));
	fd = open("p", O_RDONLY | O_NONBLOCK | O_TRUNC);
	CHECK(fd >= 0);
	CHECK_OK(close(fd));

	CHECK_OK(mkdir("d", 0755));
	CHECK_ERR(open("d", O_WRONLY), EISDIR);
	CHECK_ERR(open("d", O_RDWR | O_TRUNC), EISDIR);
	CHECK_ERR(open("d", O_RDONLY | O_CREAT, 0600), EISDIR);
	return 0;
}
