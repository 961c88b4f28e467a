// fs_lock_deadlock: when two processes each hold a record lock and each
// waits (F_SETLKW) for the other's, the kernel refuses the wait that would
// close the cycle with EDEADLK. Whichever process blocks second gets it
// (normally the parent, which waits 100 ms first); exactly one must.
//
//go:build ignore

#include "fs_check.h"

static int lk(int fd, int cmd, short type, off_t start) {
	struct flock f = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = 1};
	return fcntl(fd, cmd, &f);
}

int main(void) {
	scratch_cd();
	make_file("f", 0644, "ab", 2);
	int fd = open("f", O_RDWR);
	CHECK(fd >= 0);
	CHECK_OK(lk(fd, F_SETLK, F_WRLCK, 0));
	int up[2];
	CHECK_OK(pipe(up));
	pid_t pid = XFORK();
	if (pid == 0) {
		alarm(10);
		CHECK_OK(lk(fd, F_SETLK, F_WRLCK, 1)); // inherited fd, own lock
		sync_post(up[1], 'x');
		if (lk(fd, F_SETLKW, F_WRLCK, 0) == 0)
			_exit(0); // the parent got EDEADLK and let go
		CHECK_EQ(errno, EDEADLK);
		CHECK_OK(lk(fd, F_SETLK, F_UNLCK, 1));
		_exit(3);
	}
	alarm(10);
	sync_wait(up[0]);
	msleep(100); // let the child block on byte 0
	if (lk(fd, F_SETLKW, F_WRLCK, 1) == 0) {
		// The child hit the deadlock first and released byte 1.
		WAIT_EXIT(pid, 3);
	} else {
		CHECK_EQ(errno, EDEADLK);
		// Still holding byte 0; releasing it lets the child finish.
		CHECK_OK(lk(fd, F_SETLK, F_UNLCK, 0));
		WAIT_EXIT(pid, 0);
	}
	// No deadlock without a cycle: a plain wait on a free byte works.
	CHECK_OK(lk(fd, F_SETLKW, F_WRLCK, 1));
	close(fd);
	return 0;
}
