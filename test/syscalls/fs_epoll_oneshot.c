// fs_epoll_oneshot: EPOLLONESHOT reports an fd once and then disables it
// (still registered: ADD again is EEXIST) until EPOLL_CTL_MOD re-arms it;
// EPOLLEXCLUSIVE is accepted by EPOLL_CTL_ADD but EINVAL with MOD and with
// EPOLLONESHOT; maxevents <= 0 is EINVAL; epoll_pwait with a mask works.
//
//go:build ignore

#include "fs_check.h"
#include <sys/epoll.h>

int main(void) {
	int p[2];
	CHECK_OK(pipe(p));
	int ep = epoll_create1(0);
	CHECK(ep >= 0);
	struct epoll_event ev = {.events = EPOLLIN | EPOLLONESHOT, .data.fd = p[0]};
	CHECK_OK(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev));
	CHECK_EQ(write(p[1], "x", 1), 1);
	struct epoll_event out[4];
	CHECK_EQ(epoll_wait(ep, out, 4, 0), 1);
	CHECK_EQ(out[0].data.fd, p[0]);
	CHECK_EQ(epoll_wait(ep, out, 4, 0), 0); // disabled
	CHECK_EQ(write(p[1], "y", 1), 1);
	CHECK_EQ(epoll_wait(ep, out, 4, 0), 0); // even with new data
	CHECK_ERR(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev), EEXIST);

	CHECK_OK(epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev)); // re-arm
	CHECK_EQ(epoll_wait(ep, out, 4, 0), 1);
	CHECK_EQ(epoll_wait(ep, out, 4, 0), 0);
	// MOD without ONESHOT: level-triggered from now on.
	ev.events = EPOLLIN;
	CHECK_OK(epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev));
	CHECK_EQ(epoll_wait(ep, out, 4, 0), 1);
	CHECK_EQ(epoll_wait(ep, out, 4, 0), 1);
	sigset_t mask;
	sigemptyset(&mask);
	CHECK_EQ(epoll_pwait(ep, out, 4, 0, &mask), 1);

	// EPOLLEXCLUSIVE.
	int q[2];
	CHECK_OK(pipe(q));
	struct epoll_event ex = {.events = EPOLLIN | EPOLLEXCLUSIVE, .data.fd = q[0]};
	CHECK_OK(epoll_ctl(ep, EPOLL_CTL_ADD, q[0], &ex));
	CHECK_EQ(write(q[1], "z", 1), 1);
	CHECK_EQ(epoll_wait(ep, out, 4, 0), 2);
	CHECK_ERR(epoll_ctl(ep, EPOLL_CTL_MOD, q[0], &ex), EINVAL);
	ex.events = EPOLLIN;
	CHECK_ERR(epoll_ctl(ep, EPOLL_CTL_MOD, q[0], &ex), EINVAL); // MOD of an exclusive entry
	int r[2];
	CHECK_OK(pipe(r));
	ex.events = EPOLLIN | EPOLLEXCLUSIVE | EPOLLONESHOT;
	CHECK_ERR(epoll_ctl(ep, EPOLL_CTL_ADD, r[0], &ex), EINVAL);

	CHECK_ERR(epoll_wait(ep, out, 0, 0), EINVAL);
	CHECK_ERR(epoll_wait(ep, out, opaque(-1), 0), EINVAL);
	CHECK_ERR(epoll_wait(p[0], out, 4, 0), EINVAL); // not an epoll fd
	CHECK_ERR(epoll_create1(0x1), EINVAL);
	CHECK_ERR(epoll_create(0), EINVAL);
	close(ep);
	return 0;
}
