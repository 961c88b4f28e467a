// fs_lock_getlk: fcntl record locks between processes: a child sees the
// parent's write lock with F_GETLK (type, range, l_pid = the parent),
// gets EAGAIN from F_SETLK on a conflicting range, may share read locks and
// lock disjoint ranges; a process never conflicts with its own locks
// (F_GETLK answers F_UNLCK); unlocked ranges answer F_UNLCK.
//
//go:build ignore

#include "fs_check.h"

static int lk(int fd, int cmd, short type, off_t start, off_t len, struct flock *out) {
	struct flock f = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};
	int r = fcntl(fd, cmd, &f);
	if (out)
		*out = f;
	return r;
}

int main(void) {
	scratch_cd();
	make_file("f", 0644, "0123456789", 10);
	int fd = open("f", O_RDWR);
	CHECK(fd >= 0);
	CHECK_OK(lk(fd, F_SETLK, F_WRLCK, 0, 100, NULL));
	CHECK_OK(lk(fd, F_SETLK, F_RDLCK, 200, 100, NULL));
	struct flock g;
	CHECK_OK(lk(fd, F_GETLK, F_WRLCK, 0, 1000, &g));
	CHECK_EQ(g.l_type, F_UNLCK); // own locks never conflict

	int up[2], down[2]; // child -> parent, parent -> child
	CHECK_OK(pipe(up));
	CHECK_OK(pipe(down));
	pid_t pid = XFORK();
	if (pid == 0) {
		alarm(10);
		int c = open("f", O_RDWR);
		CHECK(c >= 0);
		struct flock f;
		CHECK_OK(lk(c, F_GETLK, F_RDLCK, 50, 10, &f));
		CHECK_EQ(f.l_type, F_WRLCK);
		CHECK_EQ(f.l_whence, SEEK_SET);
		CHECK_EQ(f.l_start, 0);
		CHECK_EQ(f.l_len, 100);
		CHECK_EQ(f.l_pid, getppid());
		CHECK_ERR(lk(c, F_SETLK, F_WRLCK, 99, 1, NULL), EAGAIN);
		CHECK_ERR(lk(c, F_SETLK, F_RDLCK, 0, 1, NULL), EAGAIN);
		CHECK_OK(lk(c, F_SETLK, F_WRLCK, 100, 100, NULL)); // disjoint
		// Read locks share; a write lock on the read range conflicts.
		CHECK_OK(lk(c, F_SETLK, F_RDLCK, 250, 10, NULL));
		CHECK_OK(lk(c, F_GETLK, F_WRLCK, 200, 100, &f));
		CHECK_EQ(f.l_type, F_RDLCK);
		CHECK_EQ(f.l_start, 200);
		CHECK_ERR(lk(c, F_SETLK, F_WRLCK, 210, 5, NULL), EAGAIN);
		CHECK_OK(lk(c, F_GETLK, F_WRLCK, 400, 10, &f));
		CHECK_EQ(f.l_type, F_UNLCK);
		sync_post(up[1], 'x');
		sync_wait(down[0]); // hold the locks while the parent looks
		_exit(0);
	}
	// While the child holds [100,200) and a read lock at 250.
	sync_wait(up[0]);
	CHECK_OK(lk(fd, F_GETLK, F_WRLCK, 150, 1, &g));
	CHECK_EQ(g.l_type, F_WRLCK);
	CHECK_EQ(g.l_pid, pid);
	CHECK_ERR(lk(fd, F_SETLK, F_WRLCK, 100, 1, NULL), EAGAIN);
	// Upgrading our own read lock over the child's read lock conflicts.
	CHECK_ERR(lk(fd, F_SETLK, F_WRLCK, 200, 100, NULL), EAGAIN);
	sync_post(down[1], 'y');
	WAIT_EXIT(pid, 0);
	// The child's locks died with it.
	CHECK_OK(lk(fd, F_SETLK, F_WRLCK, 0, 0, NULL));
	close(fd);
	return 0;
}
