// fs_mkfifo_block: a blocking open of a FIFO for reading waits until a
// writer opens it (and vice versa); both then proceed and the data flows;
// a blocked open is interrupted by a signal without SA_RESTART (EINTR).
//
//go:build ignore

#include "fs_check.h"

static void on_usr1(int sig, siginfo_t *si, void *uc) { (void)sig, (void)si, (void)uc; }

int main(void) {
	scratch_cd();
	CHECK_OK(mkfifo("p", 0600));
	int up[2];
	CHECK_OK(pipe(up));
	pid_t pid = XFORK();
	if (pid == 0) {
		alarm(10);
		install(SIGUSR1, on_usr1, 0);
		sync_post(up[1], 'a');
		CHECK_ERR(open("p", O_RDONLY), EINTR); // nobody writes yet
		sync_post(up[1], 'b');
		int r = open("p", O_RDONLY); // blocks until the parent opens
		CHECK(r >= 0);
		char buf[16];
		CHECK_EQ(read(r, buf, sizeof buf), 6);
		CHECK_MEM(buf, "hello!", 6);
		CHECK_EQ(read(r, buf, sizeof buf), 0);
		_exit(0);
	}
	CHECK_EQ(sync_wait(up[0]), 'a');
	msleep(100);
	CHECK_OK(kill(pid, SIGUSR1));
	CHECK_EQ(sync_wait(up[0]), 'b');
	alarm(10);
	int w = open("p", O_WRONLY); // rendezvous with the child's reader
	CHECK(w >= 0);
	CHECK_EQ(write(w, "hello!", 6), 6);
	CHECK_OK(close(w));
	WAIT_EXIT(pid, 0);
	alarm(0);

	// No reader anymore: a non-blocking writer open is ENXIO again.
	CHECK_ERR(open("p", O_WRONLY | O_NONBLOCK), ENXIO);
	return 0;
}
