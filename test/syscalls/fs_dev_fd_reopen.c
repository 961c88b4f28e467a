// fs_dev_fd_reopen: opening /dev/fd/N (= /proc/self/fd/N) of a regular
// file creates a NEW open file description of the same inode: its offset
// and status flags are independent of N's, it may use a different access
// mode than N (subject to the file's permissions), and the data is shared.
// dup, by contrast, shares the offset.
//
//go:build ignore

#include "fs_check.h"

int main(void) {
	scratch_cd();
	make_file("f", 0644, "0123456789", 10);
	int fd = open("f", O_RDONLY);
	CHECK(fd >= 0);
	CHECK_EQ(lseek(fd, 4, SEEK_SET), 4);
	char path[64];
	snprintf(path, sizeof path, "/dev/fd/%d", fd);
	int re = open(path, O_RDWR | O_APPEND);
	CHECK(re >= 0);
	CHECK_EQ(lseek(re, 0, SEEK_CUR), 0);
	struct stat a, b;
	CHECK_OK(fstat(fd, &a));
	CHECK_OK(fstat(re, &b));
	CHECK_EQ(a.st_ino, b.st_ino);
	CHECK_EQ(fcntl(re, F_GETFL) & (O_ACCMODE | O_APPEND), O_RDWR | O_APPEND);
	CHECK_EQ(fcntl(fd, F_GETFL) & (O_ACCMODE | O_APPEND), O_RDONLY);

	char buf[16];
	CHECK_EQ(read(re, buf, 3), 3);
	CHECK_MEM(buf, "012", 3);
	CHECK_EQ(lseek(fd, 0, SEEK_CUR), 4); // unaffected
	CHECK_EQ(write(re, "ab", 2), 2); // O_APPEND on the new one only
	CHECK_EQ(read(fd, buf, sizeof buf), 8);
	CHECK_MEM(buf, "456789ab", 8);

	// A dup shares the offset.
	int d = dup(fd);
	CHECK_EQ(lseek(d, 1, SEEK_SET), 1);
	CHECK_EQ(lseek(fd, 0, SEEK_CUR), 1);

	// Via /proc/self/fd as well, and O_TRUNC through it.
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	int t = open(path, O_WRONLY | O_TRUNC);
	CHECK(t >= 0);
	CHECK_EQ(fsize("f"), 0);
	close(t);

	// Permissions of the file still apply (as nobody, a read-only file).
	if (geteuid() == 0) {
		make_file("ro", 0644, NULL, 0);
		fflush(NULL);
		pid_t pid = XFORK();
		if (pid == 0) {
			int r = open("ro", O_RDONLY);
			drop_to_nobody();
			char p[64];
			snprintf(p, sizeof p, "/dev/fd/%d", r);
			int w = open(p, O_WRONLY);
			_exit(r >= 0 && w < 0 && errno == EACCES ? 0 : 1);
		}
		WAIT_EXIT(pid, 0);
	}
	close(d);
	close(re);
	close(fd);
	return 0;
}
