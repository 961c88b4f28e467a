// fs_lock_close: POSIX record locks belong to the process and the file:
// closing ANY descriptor of the file (a dup, or an unrelated second open)
// releases all of the process's locks on it; they are not inherited by a
// forked child (which sees them as someone else's), and F_UNLCK of a range
// not locked is fine.
//
//go:build ignore

#include "fs_check.h"

static int lk(int fd, int cmd, short type, struct flock *out) {
	struct flock f = {.l_type = type, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
	int r = fcntl(fd, cmd, &f);
	if (out)
		*out = f;
	return r;
}

// locked_by_other forks a child that reports whether a write lock on the
// whole file would conflict.
static int locked_by_other(void) {
	fflush(NULL);
	pid_t pid = XFORK();
	if (pid == 0) {
		int c = open("f", O_RDWR);
		struct flock f;
		if (c < 0 || lk(c, F_GETLK, F_WRLCK, &f) != 0)
			_exit(2);
		_exit(f.l_type == F_UNLCK ? 0 : 1);
	}
	int ws = WAITPID(pid, 0);
	CHECK(WIFEXITED(ws) && WEXITSTATUS(ws) < 2);
	return WEXITSTATUS(ws);
}

int main(void) {
	scratch_cd();
	make_file("f", 0644, NULL, 0);
	int fd = open("f", O_RDWR);
	CHECK(fd >= 0);
	CHECK_OK(lk(fd, F_SETLK, F_WRLCK, NULL));
	CHECK_EQ(locked_by_other(), 1); // a child does not inherit it

	// Closing a second, independent descriptor drops the lock.
	int other = open("f", O_RDONLY);
	CHECK(other >= 0);
	CHECK_OK(close(other));
	CHECK_EQ(locked_by_other(), 0);

	// Closing a dup drops it too.
	CHECK_OK(lk(fd, F_SETLK, F_WRLCK, NULL));
	CHECK_EQ(locked_by_other(), 1);
	int d = dup(fd);
	CHECK(d >= 0);
	CHECK_OK(close(d));
	CHECK_EQ(locked_by_other(), 0);

	// Closing an fd of another file does not.
	CHECK_OK(lk(fd, F_SETLK, F_WRLCK, NULL));
	make_file("g", 0644, NULL, 0);
	int g = open("g", O_RDONLY);
	CHECK_OK(close(g));
	CHECK_EQ(locked_by_other(), 1);

	// Explicit unlock, and unlocking what is not locked.
	CHECK_OK(lk(fd, F_SETLK, F_UNLCK, NULL));
	CHECK_EQ(locked_by_other(), 0);
	CHECK_OK(lk(fd, F_SETLK, F_UNLCK, NULL));
	close(fd);
	return 0;
}
