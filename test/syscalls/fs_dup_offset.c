// fs_dup_offset: dup'ed descriptors and descriptors inherited over fork
// share one open file description: writes through either advance a single
// offset (no overwriting), and status flags set through one (O_APPEND) show
// on the other; a second open() of the same file has its own offset.
//
//go:build ignore

#include "fs_check.h"

int main(void) {
	scratch_cd();
	int a = open("f", O_RDWR | O_CREAT | O_TRUNC, 0644);
	CHECK(a >= 0);
	int b = dup(a);
	int c = fcntl(a, F_DUPFD, 50);
	CHECK(b >= 0 && c >= 50);
	CHECK_EQ(write(a, "one ", 4), 4);
	CHECK_EQ(write(b, "two ", 4), 4);
	CHECK_EQ(write(c, "three", 5), 5);
	CHECK_EQ(lseek(b, 0, SEEK_CUR), 13);
	char buf[64];
	CHECK_EQ(slurp("f", buf, sizeof buf), 13);
	CHECK_MEM(buf, "one two three", 13);

	CHECK_EQ(lseek(a, 4, SEEK_SET), 4);
	CHECK_EQ(read(c, buf, 3), 3);
	CHECK_MEM(buf, "two", 3);
	CHECK_EQ(lseek(b, 0, SEEK_CUR), 7);

	CHECK_OK(fcntl(b, F_SETFL, O_APPEND));
	CHECK_EQ(fcntl(a, F_GETFL) & O_APPEND, O_APPEND);

	// A fresh open: independent offset and flags.
	int o = open("f", O_RDWR);
	CHECK(o >= 0);
	CHECK_EQ(lseek(o, 0, SEEK_CUR), 0);
	CHECK_EQ(fcntl(o, F_GETFL) & O_APPEND, 0);
	CHECK_EQ(write(o, "ONE", 3), 3);
	CHECK_EQ(lseek(a, 0, SEEK_CUR), 7);

	// fork: the child's writes move the parent's offset.
	CHECK_OK(fcntl(a, F_SETFL, 0));
	CHECK_EQ(lseek(a, 0, SEEK_END), 13);
	pid_t pid = XFORK();
	if (pid == 0) {
		if (write(a, "+child", 6) != 6)
			_exit(1);
		_exit(lseek(b, 0, SEEK_CUR) == 19 ? 0 : 2);
	}
	WAIT_EXIT(pid, 0);
	CHECK_EQ(lseek(a, 0, SEEK_CUR), 19);
	CHECK_EQ(write(a, "+parent", 7), 7);
	CHECK_EQ(slurp("f", buf, sizeof buf), 26);
	CHECK_MEM(buf, "ONE two three+child+parent", 26);

	// Closing one dup leaves the description open.
	close(a);
	CHECK_EQ(lseek(b, 0, SEEK_SET), 0);
	CHECK_EQ(read(c, buf, 3), 3);
	CHECK_MEM(buf, "ONE", 3);
	close(b);
	close(c);
	close(o);
	return 0;
}
