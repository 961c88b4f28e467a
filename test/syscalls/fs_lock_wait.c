// fs_lock_wait: F_SETLKW blocks while another process holds a conflicting
// lock and is granted as soon as it is released; a blocked F_SETLKW is
// interrupted by a signal whose handler lacks SA_RESTART (EINTR).
//
//go:build ignore

#include "fs_check.h"

static int lk(int fd, int cmd, short type) {
	struct flock f = {.l_type = type, .l_whence = SEEK_SET, .l_start = 0, .l_len = 10};
	return fcntl(fd, cmd, &f);
}

static void on_usr1(int sig, siginfo_t *si, void *uc) { (void)sig, (void)si, (void)uc; }

int main(void) {
	scratch_cd();
	make_file("f", 0644, NULL, 0);
	int fd = open("f", O_RDWR);
	CHECK(fd >= 0);
	CHECK_OK(lk(fd, F_SETLK, F_WRLCK));
	int up[2], down[2];
	CHECK_OK(pipe(up));
	CHECK_OK(pipe(down));
	pid_t pid = XFORK();
	if (pid == 0) {
		alarm(10);
		int c = open("f", O_RDWR);
		CHECK(c >= 0);
		// Interrupted wait first.
		install(SIGUSR1, on_usr1, 0);
		sync_post(up[1], 'a'); // about to block (interruptibly)
		CHECK_ERR(lk(c, F_SETLKW, F_WRLCK), EINTR);
		sync_post(up[1], 'b'); // about to block until released
		CHECK_OK(lk(c, F_SETLKW, F_WRLCK));
		sync_post(up[1], 'c');
		sync_wait(down[0]); // hold it while the parent looks
		_exit(0);
	}
	CHECK_EQ(sync_wait(up[0]), 'a');
	msleep(100);
	CHECK_OK(kill(pid, SIGUSR1));
	CHECK_EQ(sync_wait(up[0]), 'b');
	// The child must stay blocked while we hold the lock.
	CHECK_EQ(wait_fd(up[0], POLLIN, 150), 0);
	struct flock g = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 10};
	CHECK_OK(lk(fd, F_SETLK, F_UNLCK));
	CHECK_EQ(sync_wait(up[0]), 'c');
	CHECK_OK(fcntl(fd, F_GETLK, &g));
	CHECK_EQ(g.l_type, F_WRLCK); // the child holds it now
	CHECK_EQ(g.l_pid, pid);
	CHECK_ERR(lk(fd, F_SETLK, F_RDLCK), EAGAIN);
	sync_post(down[1], 'x');
	WAIT_EXIT(pid, 0);
	CHECK_OK(lk(fd, F_SETLKW, F_WRLCK)); // free again: immediate
	close(fd);
	return 0;
}
