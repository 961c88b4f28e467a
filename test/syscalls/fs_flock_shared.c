// fs_flock_shared: flock locks belong to the open file description: a dup
// or a forked child's inherited fd is the same holder (LOCK_EX|LOCK_NB
// succeeds, closing a dup keeps the lock), while two open()s in one process
// are different holders and conflict; flock and fcntl locks are independent
// of each other on Linux.
//
//go:build ignore

#include "fs_check.h"
#include <sys/file.h>

int main(void) {
	scratch_cd();
	make_file("f", 0644, NULL, 0);
	int a = open("f", O_RDWR);
	int b = open("f", O_RDWR);
	CHECK(a >= 0 && b >= 0);
	CHECK_OK(flock(a, LOCK_EX | LOCK_NB));
	CHECK_ERR(flock(b, LOCK_EX | LOCK_NB), EWOULDBLOCK);
	CHECK_ERR(flock(b, LOCK_SH | LOCK_NB), EWOULDBLOCK);

	int d = dup(a);
	CHECK(d >= 0);
	CHECK_OK(flock(d, LOCK_EX | LOCK_NB)); // same description
	CHECK_OK(close(d));
	CHECK_ERR(flock(b, LOCK_SH | LOCK_NB), EWOULDBLOCK); // still held

	// A forked child with the inherited fd holds the same lock.
	pid_t pid = XFORK();
	if (pid == 0) {
		alarm(10);
		CHECK_OK(flock(a, LOCK_EX | LOCK_NB));
		CHECK_ERR(flock(b, LOCK_EX | LOCK_NB), EWOULDBLOCK);
		_exit(0); // exiting closes the child's copies; the lock stays
	}
	WAIT_EXIT(pid, 0);
	CHECK_ERR(flock(b, LOCK_SH | LOCK_NB), EWOULDBLOCK);

	// fcntl locks do not interact with flock locks.
	struct flock f = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_len = 0};
	CHECK_OK(fcntl(b, F_SETLK, &f));
	pid = XFORK();
	if (pid == 0) {
		int c = open("f", O_RDWR);
		if (c < 0)
			_exit(2);
		struct flock g = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_len = 0};
		if (fcntl(c, F_SETLK, &g) == 0 || errno != EAGAIN)
			_exit(3); // the parent's fcntl lock must conflict
		_exit(flock(c, LOCK_EX | LOCK_NB) == -1 && errno == EWOULDBLOCK ? 0 : 4);
	}
	WAIT_EXIT(pid, 0);

	// Closing the last fd of a's description releases the flock.
	CHECK_OK(close(a));
	CHECK_OK(flock(b, LOCK_EX | LOCK_NB));
	close(b);
	return 0;
}
