// mq_send(3)/mq_receive(3): messages come out highest priority first and
// in sending order within a priority, with their priority and length
// (zero-length ones included); MQ_PRIO_MAX is EINVAL, a message over
// mq_msgsize EMSGSIZE, a receive buffer under mq_msgsize EMSGSIZE, the
// wrong access mode or a descriptor that is not a queue EBADF. A send
// whose buffer faults queues nothing; a receive whose buffer faults loses
// the message. The status line counts the queued bytes; poll reports
// POLLIN while messages wait and POLLOUT while there is room. A queue
// lives on, unnamed, while it is open.
//go:build ignore

#include "mq_check.h"
#include <sys/epoll.h>

static short revents(mqd_t q) {
	struct pollfd p = {q, POLLIN | POLLOUT, 0};
	CHECK_EQ(poll(&p, 1, 0), p.revents ? 1 : 0);
	return p.revents;
}

int main(void) {
	mq_fresh_namespace();
	const char *name = mq_name("prio");
	mqd_t q = mq_make(name, O_RDWR, 8, 32);
	char buf[64];
	unsigned prio;

	CHECK_EQ(revents(q), POLLOUT);
	int ep = epoll_create1(0);
	CHECK(ep >= 0);
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = q};
	CHECK_OK(epoll_ctl(ep, EPOLL_CTL_ADD, q, &ev));
	CHECK_EQ(epoll_wait(ep, &ev, 1, 0), 0);

	struct {
		const char *text;
		unsigned prio;
	} in[] = {{"a1", 1}, {"b1", 5}, {"a2", 1}, {"", 0}, {"b2", 5}, {"top", MQ_PRIO_MAX - 1}, {"c", 0}};
	unsigned long total = 0;
	for (unsigned i = 0; i < sizeof in / sizeof in[0]; i++) {
		CHECK_OK(mq_send(q, in[i].text, strlen(in[i].text), in[i].prio));
		total += strlen(in[i].text);
	}
	CHECK_EQ(revents(q), POLLIN | POLLOUT);
	CHECK_EQ(epoll_wait(ep, &ev, 1, 0), 1);
	CHECK_EQ(ev.events, EPOLLIN);

	// Errors, in the order the kernel checks them.
	CHECK_ERR(mq_send(q, "x", 1, MQ_PRIO_MAX), EINVAL);
	CHECK_ERR(mq_send(-1, "x", 1, MQ_PRIO_MAX), EINVAL);
	CHECK_ERR(mq_send(-1, "x", 1, 0), EBADF);
	memset(buf, 'm', sizeof buf);
	CHECK_ERR(mq_send(q, buf, 33, 0), EMSGSIZE);
	CHECK_ERR(mq_send(q, (char *)8, 33, 0), EMSGSIZE);
	CHECK_ERR(mq_send(q, (char *)8, 4, 0), EFAULT);
	CHECK_ERR(mq_receive(q, buf, 31, &prio), EMSGSIZE);
	int p[2];
	CHECK_OK(pipe(p));
	CHECK_ERR(mq_send(p[1], "x", 1, 0), EBADF);
	CHECK_ERR(mq_receive(p[0], buf, sizeof buf, &prio), EBADF);
	struct mq_attr a;
	CHECK_ERR(mq_getattr(p[0], &a), EBADF);
	mqd_t ro = mq_open(name, O_RDONLY), wo = mq_open(name, O_WRONLY);
	CHECK(ro >= 0 && wo >= 0);
	CHECK_ERR(mq_send(ro, "x", 1, 0), EBADF);
	CHECK_ERR(mq_receive(wo, buf, sizeof buf, &prio), EBADF);
	CHECK_OK(mq_send(wo, "w", 1, 2));
	total++;

	unsigned long qsize;
	int notify, signo, pid;
	mq_status_fields(q, &qsize, &notify, &signo, &pid);
	CHECK_EQ(qsize, total);
	CHECK_OK(mq_getattr(q, &a));
	CHECK_EQ(a.mq_curmsgs, 8);
	CHECK_EQ(revents(q), POLLIN); // full
	CHECK_ERR(mq_receive(q, (char *)8, sizeof buf, &prio), EFAULT);
	CHECK_OK(mq_getattr(q, &a));
	CHECK_EQ(a.mq_curmsgs, 7); // "top" was lost

	struct {
		const char *text;
		unsigned prio;
	} out[] = {{"b1", 5}, {"b2", 5}, {"w", 2}, {"a1", 1}, {"a2", 1}, {"", 0}, {"c", 0}};
	for (unsigned i = 0; i < sizeof out / sizeof out[0]; i++) {
		prio = 12345;
		memset(buf, 0, sizeof buf);
		ssize_t n = mq_receive(i % 2 ? ro : q, buf, sizeof buf, &prio);
		CHECK_EQ(n, strlen(out[i].text));
		CHECK(memcmp(buf, out[i].text, n) == 0);
		CHECK_EQ(prio, out[i].prio);
	}
	mq_status_fields(q, &qsize, &notify, &signo, &pid);
	CHECK_EQ(qsize, 0);
	CHECK_EQ(revents(q), POLLOUT);

	// A NULL priority pointer is fine.
	CHECK_OK(mq_send(q, "n", 1, 3));
	CHECK_EQ(mq_receive(q, buf, sizeof buf, NULL), 1);

	// The queue as a file.
	struct stat st;
	CHECK_OK(fstat(q, &st));
	CHECK(S_ISREG(st.st_mode));
	CHECK_EQ(st.st_size, 80);
	CHECK_EQ(st.st_nlink, 1);
	CHECK_OK(mq_unlink(name));
	CHECK_OK(fstat(q, &st));
	CHECK_EQ(st.st_nlink, 0);
	CHECK_ERR(mq_open(name, O_RDWR), ENOENT);
	// Unnamed, it still works, and a new queue of the name is another.
	CHECK_OK(mq_send(wo, "still", 5, 0));
	mqd_t q2 = mq_make(name, O_RDWR | O_NONBLOCK, 2, 8);
	CHECK_ERR(mq_receive(q2, buf, sizeof buf, &prio), EAGAIN);
	CHECK_EQ(mq_receive(ro, buf, sizeof buf, &prio), 5);
	CHECK_OK(mq_close(q2));
	CHECK_OK(mq_unlink(name));
	CHECK_OK(mq_close(q));
	CHECK_OK(mq_close(ro));
	CHECK_OK(mq_close(wo));
	return 0;
}
