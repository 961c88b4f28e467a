// fs_fork_offset: parent and child alternately append records through an
// inherited descriptor (taking turns over pipes); the shared offset makes
// the records land one after another, and a child's lseek is seen by the
// parent; a descriptor the child opens itself is private.
//
//go:build ignore

#include "fs_check.h"

int main(void) {
	scratch_cd();
	int fd = open("log", O_RDWR | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0);
	int to_child[2], to_parent[2];
	CHECK_OK(pipe(to_child));
	CHECK_OK(pipe(to_parent));
	pid_t pid = XFORK();
	if (pid == 0) {
		alarm(10);
		for (int i = 0; i < 5; i++) {
			sync_wait(to_child[0]);
			CHECK_EQ(write(fd, "C", 1), 1);
			sync_post(to_parent[1], 'x');
		}
		sync_wait(to_child[0]);
		CHECK_EQ(lseek(fd, 2, SEEK_SET), 2);
		int own = open("log", O_RDONLY);
		CHECK(own >= 0);
		CHECK_EQ(lseek(own, 7, SEEK_SET), 7);
		sync_post(to_parent[1], 'x');
		_exit(0);
	}
	for (int i = 0; i < 5; i++) {
		CHECK_EQ(write(fd, "P", 1), 1);
		sync_post(to_child[1], 'x');
		sync_wait(to_parent[0]);
	}
	CHECK_EQ(lseek(fd, 0, SEEK_CUR), 10);
	sync_post(to_child[1], 'x');
	sync_wait(to_parent[0]);
	WAIT_EXIT(pid, 0);
	CHECK_EQ(lseek(fd, 0, SEEK_CUR), 2);
	char buf[16];
	CHECK_EQ(pread(fd, buf, sizeof buf, 0), 10);
	CHECK_MEM(buf, "PCPCPCPCPC", 10);
	close(fd);
	return 0;
}
