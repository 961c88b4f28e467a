// inet_epoll: epoll on TCP sockets: a blocked epoll_wait wakes when a
// child connects (listener readable) and when it writes (connection
// readable), edge-triggered events fire once per arrival. The child's
// second write waits for the parent's go-ahead, so that the two arrivals
// stay apart however slow the machine.
//
//go:build ignore

#include "inet_check.h"
#include "task_check.h"
#include <sys/epoll.h>

int main(void) {
	int l = listener(AF_INET, 4);
	int port = port_of(l);
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = l};
	CHECK_OK(epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev));
	int go[2];
	CHECK_OK(pipe(go));
	pid_t pid = XFORK();
	if (pid == 0) {
		msleep(50);
		int c = socket(AF_INET, SOCK_STREAM, 0);
		CHECK_OK(connect_to(c, AF_INET, port));
		msleep(50);
		CHECK_EQ(write(c, "ping", 4), 4);
		char g;
		CHECK_EQ(read(go[0], &g, 1), 1);
		CHECK_EQ(write(c, "pong", 4), 4);
		char b;
		CHECK_EQ(read(c, &b, 1), 0);
		_exit(0);
	}
	struct epoll_event out;
	CHECK_EQ(epoll_wait(ep, &out, 1, 10000), 1);
	CHECK_EQ(out.data.fd, l);
	int a = accept4(l, NULL, NULL, SOCK_NONBLOCK);
	CHECK(a >= 0);
	ev.events = EPOLLIN | EPOLLET;
	ev.data.fd = a;
	CHECK_OK(epoll_ctl(ep, EPOLL_CTL_ADD, a, &ev));
	char buf[8];
	for (int i = 0; i < 2; i++) {
		CHECK_EQ(epoll_wait(ep, &out, 1, 10000), 1);
		CHECK_EQ(out.data.fd, a);
		CHECK(out.events & EPOLLIN);
		CHECK_EQ(read(a, buf, sizeof buf), 4);
		CHECK_ERR(read(a, buf, sizeof buf), EAGAIN);
		// Edge-triggered: nothing more until new data arrives.
		if (i == 0) {
			CHECK_EQ(epoll_wait(ep, &out, 1, 0), 0);
			CHECK_EQ(write(go[1], "g", 1), 1);
		}
	}
	close(a);
	WAIT_EXIT(pid, 0);
	return 0;
}
