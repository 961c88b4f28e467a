// fs_fsync: fsync, fdatasync, syncfs, sync_file_range and sync succeed on
// regular files (read-only descriptors too) and directories; the data is
// still there afterwards; a bad fd is EBADF, a pipe or socket EINVAL.
//
//go:build ignore

#include "fs_check.h"
#include <sys/socket.h>

int main(void) {
	scratch_cd();
	int fd = open("f", O_RDWR | O_CREAT, 0644);
	CHECK(fd >= 0);
	CHECK_EQ(write(fd, "durable", 7), 7);
	CHECK_OK(fsync(fd));
	CHECK_OK(fdatasync(fd));
	CHECK_OK(syncfs(fd));
	CHECK_OK(sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE));
	CHECK_OK(sync_file_range(fd, 0, 7,
				 SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER));
	CHECK_ERR(sync_file_range(fd, 0, 7, 0x8), EINVAL);
	CHECK_ERR(sync_file_range(fd, -1, 7, SYNC_FILE_RANGE_WRITE), EINVAL);
	CHECK_EQ(syscall(SYS_sync), 0);

	int ro = open("f", O_RDONLY);
	CHECK(ro >= 0);
	CHECK_OK(fsync(ro));
	CHECK_OK(fdatasync(ro));
	int d = open(".", O_RDONLY | O_DIRECTORY);
	CHECK(d >= 0);
	CHECK_OK(fsync(d));
	CHECK_OK(fdatasync(d));
	CHECK_OK(syncfs(d));

	char buf[8];
	CHECK_EQ(pread(ro, buf, sizeof buf, 0), 7);
	CHECK_MEM(buf, "durable", 7);

	CHECK_ERR(fsync(1000), EBADF);
	CHECK_ERR(fdatasync(1000), EBADF);
	CHECK_ERR(syncfs(1000), EBADF);
	int p[2];
	CHECK_OK(pipe(p));
	CHECK_ERR(fsync(p[0]), EINVAL);
	CHECK_ERR(fdatasync(p[1]), EINVAL);
	int sv[2];
	CHECK_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	CHECK_ERR(fsync(sv[0]), EINVAL);
	close(fd);
	close(ro);
	close(d);
	return 0;
}
