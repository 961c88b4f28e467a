// fork_basic: fork returns 0 in the child and the child's pid in the parent;
// the child has a new pid and the parent as its parent; waitpid returns each
// child's own status (only the low 8 bits of exit's code); parent and child
// share open file descriptions, so a read in the child moves the parent's
// offset.
//
//go:build ignore

#include "task_check.h"

int main(int argc, char **argv) {
	pid_t me = getpid();
	pid_t pid = XFORK();
	if (pid == 0) {
		if (getppid() != me || getpid() == me || gettid() != getpid())
			_exit(2);
		_exit(7);
	}
	CHECK(pid > 0);
	CHECK(pid != me);
	WAIT_EXIT(pid, 7);
	CHECK_ERR(waitpid(pid, NULL, 0), ECHILD); // reaped

	// Five children at once, reaped in any order.
	enum { N = 5 };
	pid_t kids[N];
	for (int i = 0; i < N; i++) {
		kids[i] = XFORK();
		if (kids[i] == 0) {
			msleep(10 * (N - i));
			exit(256 * i + 10 + i); // the status keeps the low 8 bits
		}
	}
	int seen = 0;
	for (int n = 0; n < N; n++) {
		int ws;
		pid_t w = wait(&ws);
		CHECK(w > 0);
		int i = 0;
		while (i < N && kids[i] != w)
			i++;
		CHECK(i < N);
		CHECK(!(seen & (1 << i)));
		seen |= 1 << i;
		CHECK(WIFEXITED(ws));
		CHECK_EQ(WEXITSTATUS(ws), 10 + i);
	}
	CHECK_ERR(wait(NULL), ECHILD);

	// A shared file offset.
	int fd = open(fixture(argc, argv, "small.txt"), O_RDONLY);
	CHECK(fd >= 0);
	pid = XFORK();
	if (pid == 0) {
		char b[5];
		_exit(read(fd, b, 5) == 5 && memcmp(b, "hello", 5) == 0 ? 0 : 3);
	}
	WAIT_EXIT(pid, 0);
	CHECK_EQ(lseek(fd, 0, SEEK_CUR), 5);
	char b[3];
	CHECK_EQ(read(fd, b, 2), 2);
	CHECK_MEM(b, ", ", 2);
	return 0;
}
