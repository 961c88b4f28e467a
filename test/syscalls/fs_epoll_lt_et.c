// fs_epoll_lt_et: on a pipe, level-triggered epoll reports EPOLLIN on every
// epoll_wait while data is unread; edge-triggered (EPOLLET) reports it once
// per new arrival, not again until more data is written; EPOLLOUT on the
// write end follows the same rules; the user data comes back unchanged.
//
//go:build ignore

#include "fs_check.h"
#include <sys/epoll.h>

static int wait1(int ep, struct epoll_event *ev) {
	int n;
	do
		n = epoll_wait(ep, ev, 1, 0);
	while (n < 0 && errno == EINTR);
	CHECK(n >= 0);
	return n;
}

int main(void) {
	int lt[2], et[2];
	CHECK_OK(pipe(lt));
	CHECK_OK(pipe(et));
	int ep = epoll_create1(EPOLL_CLOEXEC);
	CHECK(ep >= 0);
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 0x1111};
	CHECK_OK(epoll_ctl(ep, EPOLL_CTL_ADD, lt[0], &ev));
	ev = (struct epoll_event){.events = EPOLLIN | EPOLLET, .data.u64 = 0x2222};
	CHECK_OK(epoll_ctl(ep, EPOLL_CTL_ADD, et[0], &ev));
	struct epoll_event out;
	CHECK_EQ(wait1(ep, &out), 0);

	// Level-triggered: reported until drained.
	CHECK_EQ(write(lt[1], "abc", 3), 3);
	for (int i = 0; i < 3; i++) {
		CHECK_EQ(wait1(ep, &out), 1);
		CHECK_EQ(out.data.u64, 0x1111);
		CHECK_EQ(out.events, EPOLLIN);
	}
	char buf[8];
	CHECK_EQ(read(lt[0], buf, 2), 2);
	CHECK_EQ(wait1(ep, &out), 1); // one byte left
	CHECK_EQ(read(lt[0], buf, 1), 1);
	CHECK_EQ(wait1(ep, &out), 0);

	// Edge-triggered: once per arrival.
	CHECK_EQ(write(et[1], "abc", 3), 3);
	CHECK_EQ(wait1(ep, &out), 1);
	CHECK_EQ(out.data.u64, 0x2222);
	CHECK_EQ(wait1(ep, &out), 0); // still unread, but no new edge
	CHECK_EQ(read(et[0], buf, 1), 1);
	CHECK_EQ(wait1(ep, &out), 0);
	CHECK_EQ(write(et[1], "d", 1), 1); // new data: new edge
	CHECK_EQ(wait1(ep, &out), 1);
	CHECK_EQ(out.data.u64, 0x2222);
	CHECK_EQ(wait1(ep, &out), 0);

	// EPOLLOUT, level vs edge, on write ends.
	ev = (struct epoll_event){.events = EPOLLOUT, .data.u64 = 3};
	CHECK_OK(epoll_ctl(ep, EPOLL_CTL_ADD, lt[1], &ev));
	CHECK_EQ(wait1(ep, &out), 1);
	CHECK_EQ(wait1(ep, &out), 1);
	CHECK_OK(epoll_ctl(ep, EPOLL_CTL_DEL, lt[1], NULL));
	ev = (struct epoll_event){.events = EPOLLOUT | EPOLLET, .data.u64 = 4};
	CHECK_OK(epoll_ctl(ep, EPOLL_CTL_ADD, et[1], &ev));
	CHECK_EQ(wait1(ep, &out), 1);
	CHECK_EQ(out.data.u64, 4);
	CHECK_EQ(wait1(ep, &out), 0);

	// Writer closed: EPOLLHUP on the level-triggered reader.
	close(lt[1]);
	CHECK_EQ(wait1(ep, &out), 1);
	CHECK_EQ(out.data.u64, 0x1111);
	CHECK_EQ(out.events, EPOLLHUP);
	// A bounded blocking wait times out with nothing ready.
	CHECK_OK(epoll_ctl(ep, EPOLL_CTL_DEL, lt[0], NULL));
	CHECK_EQ(epoll_wait(ep, &out, 1, 20), 0);
	close(ep);
	return 0;
}
