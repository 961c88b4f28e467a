// fs_poll_file: poll on regular files and directories always reports them
// readable and writable (POLLIN|POLLOUT|POLLRDNORM|POLLWRNORM), also at EOF
// and for an empty file; pipes report POLLIN only with data, POLLOUT while
// there is room, POLLHUP once the writer is gone and POLLERR on the write
// end once the reader is gone; a bad fd gives POLLNVAL; a negative fd is
// ignored.
//
//go:build ignore

#include "fs_check.h"

int main(void) {
	scratch_cd();
	make_file("f", 0644, NULL, 0);
	int f = open("f", O_RDWR);
	int ro = open("f", O_RDONLY);
	int d = open(".", O_RDONLY | O_DIRECTORY);
	CHECK(f >= 0 && ro >= 0 && d >= 0);
	short all = POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM;
	CHECK_EQ(wait_fd(f, all, 0), all);
	CHECK_EQ(wait_fd(ro, all, 0), all); // even read-only: not checked
	CHECK_EQ(wait_fd(d, all, 0), all);
	CHECK_EQ(wait_fd(f, POLLIN, 0), POLLIN);
	CHECK_EQ(wait_fd(f, POLLPRI, 0), 0);
	CHECK_EQ(wait_fd(f, 0, 0), 0);

	int p[2];
	CHECK_OK(pipe(p));
	CHECK_EQ(wait_fd(p[0], POLLIN, 0), 0);
	CHECK_EQ(wait_fd(p[1], POLLOUT, 0), POLLOUT);
	CHECK_EQ(write(p[1], "x", 1), 1);
	CHECK_EQ(wait_fd(p[0], POLLIN | POLLRDNORM, 0), POLLIN | POLLRDNORM);

	struct pollfd fds[4] = {
		{.fd = f, .events = POLLIN},
		{.fd = p[0], .events = POLLIN},
		{.fd = -1, .events = POLLIN, .revents = 0x7},
		{.fd = 1000, .events = POLLIN},
	};
	CHECK_EQ(poll(fds, 4, 0), 3);
	CHECK_EQ(fds[0].revents, POLLIN);
	CHECK_EQ(fds[1].revents, POLLIN);
	CHECK_EQ(fds[2].revents, 0); // ignored, revents cleared
	CHECK_EQ(fds[3].revents, POLLNVAL);

	// Writer closed: POLLHUP (with the data still there: also POLLIN).
	close(p[1]);
	CHECK_EQ(wait_fd(p[0], POLLIN, 0), POLLIN | POLLHUP);
	char c;
	CHECK_EQ(read(p[0], &c, 1), 1);
	CHECK_EQ(wait_fd(p[0], POLLIN, 0), POLLHUP); // always reported
	close(p[0]);

	// Reader closed: POLLERR on the write end.
	CHECK_OK(pipe(p));
	close(p[0]);
	CHECK_EQ(wait_fd(p[1], POLLOUT, 0), POLLOUT | POLLERR);
	close(p[1]);

	// A full pipe is not writable.
	CHECK_OK(pipe2(p, O_NONBLOCK));
	static char buf[65536];
	while (write(p[1], buf, sizeof buf) > 0)
		;
	CHECK_EQ(errno, EAGAIN);
	CHECK_EQ(wait_fd(p[1], POLLOUT, 0), 0);
	CHECK_EQ(poll(NULL, 0, 10), 0); // a plain bounded sleep
	close(p[0]);
	close(p[1]);
	close(f);
	close(ro);
	close(d);
	return 0;
}
