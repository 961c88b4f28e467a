// fs_flock: flock locks between two processes with separate open()s: an
// exclusive lock excludes both kinds (EWOULDBLOCK with LOCK_NB), shared
// locks coexist, a holder can convert EX -> SH and SH -> EX (when no one
// else shares), LOCK_UN releases; invalid operations are EINVAL.
//
//go:build ignore

#include "fs_check.h"
#include <sys/file.h>

int main(void) {
	scratch_cd();
	make_file("f", 0644, NULL, 0);
	int fd = open("f", O_RDONLY); // flock needs no write access
	CHECK(fd >= 0);
	CHECK_OK(flock(fd, LOCK_EX));
	int up[2], down[2];
	CHECK_OK(pipe(up));
	CHECK_OK(pipe(down));
	pid_t pid = XFORK();
	if (pid == 0) {
		alarm(10);
		int c = open("f", O_RDONLY);
		CHECK(c >= 0);
		CHECK_ERR(flock(c, LOCK_EX | LOCK_NB), EWOULDBLOCK);
		CHECK_ERR(flock(c, LOCK_SH | LOCK_NB), EWOULDBLOCK);
		sync_post(up[1], '1');
		sync_wait(down[0]); // parent downgraded to shared
		CHECK_OK(flock(c, LOCK_SH | LOCK_NB));
		// (No failed LOCK_EX attempt here: a failed conversion may drop
		// the shared lock, flock(2) says conversions are not atomic.)
		sync_post(up[1], '2');
		sync_wait(down[0]); // parent unlocked
		CHECK_OK(flock(c, LOCK_EX | LOCK_NB)); // upgrade
		sync_post(up[1], '3');
		sync_wait(down[0]);
		_exit(0);
	}
	CHECK_EQ(sync_wait(up[0]), '1');
	CHECK_OK(flock(fd, LOCK_SH));
	sync_post(down[1], 'x');
	CHECK_EQ(sync_wait(up[0]), '2');
	CHECK_ERR(flock(fd, LOCK_EX | LOCK_NB), EWOULDBLOCK); // child shares
	CHECK_OK(flock(fd, LOCK_UN));
	sync_post(down[1], 'x');
	CHECK_EQ(sync_wait(up[0]), '3');
	CHECK_ERR(flock(fd, LOCK_SH | LOCK_NB), EWOULDBLOCK);
	sync_post(down[1], 'x');
	WAIT_EXIT(pid, 0);
	// The child's lock went away with it.
	CHECK_OK(flock(fd, LOCK_EX | LOCK_NB));
	CHECK_OK(flock(fd, LOCK_UN));
	CHECK_OK(flock(fd, LOCK_UN)); // unlocking again is fine

	CHECK_ERR(flock(fd, 0), EINVAL);
	CHECK_ERR(flock(fd, LOCK_NB), EINVAL);
	CHECK_ERR(flock(fd, LOCK_SH | LOCK_EX), EINVAL);
	CHECK_ERR(flock(1000, LOCK_SH), EBADF);
	int op = open("f", O_PATH);
	CHECK_ERR(flock(op, LOCK_SH), EBADF);
	close(op);
	close(fd);
	return 0;
}
