// fs_lock_ofd: open file description locks (F_OFD_SETLK/F_OFD_GETLK) are
// owned by the description, not the process: two open()s in one process
// conflict (EAGAIN), F_OFD_GETLK reports l_pid -1, closing another fd of
// the file does not release them (unlike POSIX locks) but closing the last
// fd of the description does; a forked child sharing the description owns
// the same lock; a non-zero l_pid in the request is EINVAL.
//
//go:build ignore

#include "fs_check.h"

static int lk(int fd, int cmd, short type, struct flock *out) {
	struct flock f = {.l_type = type, .l_whence = SEEK_SET, .l_start = 0, .l_len = 10};
	int r = fcntl(fd, cmd, &f);
	if (out)
		*out = f;
	return r;
}

int main(void) {
	scratch_cd();
	make_file("f", 0644, NULL, 0);
	int a = open("f", O_RDWR);
	int b = open("f", O_RDWR);
	CHECK(a >= 0 && b >= 0);
	CHECK_OK(lk(a, F_OFD_SETLK, F_WRLCK, NULL));
	CHECK_ERR(lk(b, F_OFD_SETLK, F_WRLCK, NULL), EAGAIN);
	CHECK_ERR(lk(b, F_OFD_SETLK, F_RDLCK, NULL), EAGAIN);
	struct flock g;
	CHECK_OK(lk(b, F_OFD_GETLK, F_RDLCK, &g));
	CHECK_EQ(g.l_type, F_WRLCK);
	CHECK_EQ(g.l_pid, -1);
	CHECK_OK(lk(a, F_OFD_GETLK, F_WRLCK, &g));
	CHECK_EQ(g.l_type, F_UNLCK); // its own lock
	// A POSIX lock of this same process conflicts with it too.
	CHECK_ERR(lk(b, F_SETLK, F_WRLCK, NULL), EAGAIN);

	// Closing an unrelated fd of the file keeps the OFD lock.
	int c = open("f", O_RDONLY);
	CHECK_OK(close(c));
	CHECK_ERR(lk(b, F_OFD_SETLK, F_WRLCK, NULL), EAGAIN);
	// A dup shares the description: closing the dup keeps it as well.
	int d = dup(a);
	CHECK_OK(close(d));
	CHECK_ERR(lk(b, F_OFD_SETLK, F_WRLCK, NULL), EAGAIN);

	// A child with the inherited description is the same owner.
	pid_t pid = XFORK();
	if (pid == 0) {
		alarm(10);
		CHECK_OK(lk(a, F_OFD_SETLK, F_RDLCK, NULL)); // converts the shared lock
		CHECK_ERR(lk(b, F_OFD_SETLK, F_WRLCK, NULL), EAGAIN);
		_exit(0);
	}
	WAIT_EXIT(pid, 0);
	// The child converted it to a read lock, which outlives the child.
	CHECK_OK(lk(b, F_OFD_GETLK, F_WRLCK, &g));
	CHECK_EQ(g.l_type, F_RDLCK);
	CHECK_OK(lk(b, F_OFD_SETLK, F_RDLCK, NULL));

	struct flock bad = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_len = 1, .l_pid = 1};
	CHECK_ERR(fcntl(b, F_OFD_SETLK, &bad), EINVAL);
	CHECK_ERR(fcntl(b, F_OFD_GETLK, &bad), EINVAL);

	// Closing the last fd of a's description releases its lock.
	CHECK_OK(lk(b, F_OFD_SETLK, F_UNLCK, NULL));
	CHECK_OK(close(a));
	CHECK_OK(lk(b, F_OFD_SETLK, F_WRLCK, NULL));
	CHECK_OK(lk(b, F_OFD_SETLKW, F_WRLCK, NULL));
	close(b);
	return 0;
}
