// fs_flock_wait: a blocking flock(LOCK_EX) waits while another description
// holds the lock and proceeds when the holder unlocks or closes its last
// descriptor; a blocked flock is interrupted by a non-restarting signal
// (EINTR).
//
//go:build ignore

#include "fs_check.h"
#include <sys/file.h>

static void on_usr1(int sig, siginfo_t *si, void *uc) { (void)sig, (void)si, (void)uc; }

int main(void) {
	scratch_cd();
	make_file("f", 0644, NULL, 0);
	int fd = open("f", O_RDONLY);
	CHECK(fd >= 0);
	CHECK_OK(flock(fd, LOCK_EX));
	int up[2], down[2];
	CHECK_OK(pipe(up));
	CHECK_OK(pipe(down));
	pid_t pid = XFORK();
	if (pid == 0) {
		alarm(10);
		install(SIGUSR1, on_usr1, 0);
		int c = open("f", O_RDONLY);
		CHECK(c >= 0);
		sync_post(up[1], 'a');
		CHECK_ERR(flock(c, LOCK_SH), EINTR);
		sync_post(up[1], 'b');
		CHECK_OK(flock(c, LOCK_EX)); // granted on the parent's unlock
		sync_post(up[1], 'c');
		sync_wait(down[0]);
		int c2 = open("f", O_RDONLY);
		CHECK(c2 >= 0);
		CHECK_OK(flock(c, LOCK_UN));
		CHECK_OK(flock(c2, LOCK_EX));
		sync_post(up[1], 'd');
		sync_wait(down[0]);
		_exit(0);
	}
	CHECK_EQ(sync_wait(up[0]), 'a');
	msleep(100);
	CHECK_OK(kill(pid, SIGUSR1));
	CHECK_EQ(sync_wait(up[0]), 'b');
	CHECK_EQ(wait_fd(up[0], POLLIN, 150), 0); // still blocked
	CHECK_OK(flock(fd, LOCK_UN));
	CHECK_EQ(sync_wait(up[0]), 'c');
	CHECK_ERR(flock(fd, LOCK_SH | LOCK_NB), EWOULDBLOCK);
	sync_post(down[1], 'x');
	CHECK_EQ(sync_wait(up[0]), 'd');
	CHECK_ERR(flock(fd, LOCK_SH | LOCK_NB), EWOULDBLOCK); // now via c2
	sync_post(down[1], 'x');
	WAIT_EXIT(pid, 0);
	// The child exited: its descriptions closed, the lock is free; a
	// blocking request succeeds at once.
	CHECK_OK(flock(fd, LOCK_EX));
	close(fd);
	return 0;
}
