// fs_epoll_file: regular files and directories cannot be added to an epoll
// set (EPERM); a registration belongs to the open file description, so
// closing a dup'ed fd keeps it reporting, while closing the last fd removes
// it; EEXIST on double ADD, ENOENT for MOD/DEL of unregistered fds, EBADF
// for a bad fd.
//
//go:build ignore

#include "fs_check.h"
#include <sys/epoll.h>

int main(void) {
	scratch_cd();
	make_file("f", 0644, "x", 1);
	int f = open("f", O_RDONLY);
	int d = open(".", O_RDONLY | O_DIRECTORY);
	CHECK(f >= 0 && d >= 0);
	int ep = epoll_create1(0);
	CHECK(ep >= 0);
	struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 7};
	CHECK_ERR(epoll_ctl(ep, EPOLL_CTL_ADD, f, &ev), EPERM);
	CHECK_ERR(epoll_ctl(ep, EPOLL_CTL_ADD, d, &ev), EPERM);

	int p[2];
	CHECK_OK(pipe(p));
	int dupfd = dup(p[0]);
	CHECK(dupfd >= 0);
	CHECK_OK(epoll_ctl(ep, EPOLL_CTL_ADD, dupfd, &ev));
	CHECK_ERR(epoll_ctl(ep, EPOLL_CTL_ADD, dupfd, &ev), EEXIST);
	CHECK_OK(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev)); // another fd number: a new entry
	CHECK_OK(close(dupfd));
	CHECK_EQ(write(p[1], "x", 1), 1);
	struct epoll_event out[4];
	// Both entries still refer to the living description; the one
	// registered under the closed number keeps reporting.
	CHECK_EQ(epoll_wait(ep, out, 4, 0), 2);
	CHECK_EQ(out[0].data.u32, 7);
	// The closed number can no longer be used to DEL it.
	CHECK_ERR(epoll_ctl(ep, EPOLL_CTL_DEL, dupfd, NULL), EBADF);

	// Closing the last fd removes every entry of the description.
	CHECK_OK(close(p[0]));
	CHECK_EQ(epoll_wait(ep, out, 4, 0), 0);

	int q[2];
	CHECK_OK(pipe(q));
	CHECK_ERR(epoll_ctl(ep, EPOLL_CTL_MOD, q[0], &ev), ENOENT);
	CHECK_ERR(epoll_ctl(ep, EPOLL_CTL_DEL, q[0], NULL), ENOENT);
	CHECK_ERR(epoll_ctl(ep, EPOLL_CTL_ADD, 1000, &ev), EBADF);
	CHECK_ERR(epoll_ctl(1000, EPOLL_CTL_ADD, q[0], &ev), EBADF);
	CHECK_ERR(epoll_ctl(ep, 99, q[0], &ev), EINVAL);
	CHECK_ERR(epoll_ctl(q[0], EPOLL_CTL_ADD, q[1], &ev), EINVAL);
	close(f);
	close(d);
	close(ep);
	return 0;
}
