// fs_epoll_nested: an epoll fd can watch another epoll fd, which becomes
// readable (EPOLLIN) when the inner set has ready events; adding an epoll
// fd to itself is EINVAL and a cycle of two is ELOOP; poll on an epoll fd
// reflects its readiness too.
//
//go:build ignore

#include "fs_check.h"
#include <sys/epoll.h>

int main(void) {
	int p[2];
	CHECK_OK(pipe(p));
	int inner = epoll_create1(0), outer = epoll_create1(0);
	CHECK(inner >= 0 && outer >= 0);
	struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 1};
	CHECK_OK(epoll_ctl(inner, EPOLL_CTL_ADD, p[0], &ev));
	ev.data.u32 = 2;
	CHECK_OK(epoll_ctl(outer, EPOLL_CTL_ADD, inner, &ev));

	struct epoll_event out[2];
	CHECK_EQ(epoll_wait(outer, out, 2, 0), 0);
	CHECK_EQ(wait_fd(inner, POLLIN, 0), 0);
	CHECK_EQ(write(p[1], "x", 1), 1);
	CHECK_EQ(epoll_wait(outer, out, 2, 1000), 1);
	CHECK_EQ(out[0].data.u32, 2);
	CHECK_EQ(out[0].events, EPOLLIN);
	CHECK_EQ(wait_fd(inner, POLLIN, 0), POLLIN);
	CHECK_EQ(epoll_wait(inner, out, 2, 0), 1);
	CHECK_EQ(out[0].data.u32, 1);

	// Drained: the outer set is quiet again.
	char c;
	CHECK_EQ(read(p[0], &c, 1), 1);
	CHECK_EQ(epoll_wait(outer, out, 2, 0), 0);

	// A blocked outer wait is woken by data arriving for the inner set.
	pid_t pid = XFORK();
	if (pid == 0) {
		msleep(30);
		_exit(write(p[1], "y", 1) == 1 ? 0 : 1);
	}
	CHECK_EQ(epoll_wait(outer, out, 2, 2000), 1);
	WAIT_EXIT(pid, 0);

	CHECK_ERR(epoll_ctl(inner, EPOLL_CTL_ADD, inner, &ev), EINVAL);
	CHECK_ERR(epoll_ctl(inner, EPOLL_CTL_ADD, outer, &ev), ELOOP);
	close(outer);
	close(inner);
	return 0;
}
