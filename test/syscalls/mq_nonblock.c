// O_NONBLOCK on a queue: mq_receive on an empty queue and mq_send on a full
// one fail with EAGAIN instead of blocking. The flag belongs to the open
// file description: mq_open with O_NONBLOCK sets it, mq_setattr and
// fcntl(F_SETFL) change it (each sees the other's change), a dup shares
// it, and another mq_open of the same queue has its own.
//go:build ignore

#include "mq_check.h"

int main(void) {
	mq_fresh_namespace();
	const char *name = mq_name("nb");
	mqd_t q = mq_make(name, O_RDWR | O_NONBLOCK, 2, 16);
	char buf[16];
	unsigned prio;

	struct mq_attr a;
	CHECK_OK(mq_getattr(q, &a));
	CHECK_EQ(a.mq_flags, O_NONBLOCK);
	CHECK(fcntl(q, F_GETFL) & O_NONBLOCK);
	CHECK_ERR(mq_receive(q, buf, sizeof buf, &prio), EAGAIN);
	CHECK_OK(mq_send(q, "1", 1, 0));
	CHECK_OK(mq_send(q, "2", 1, 0));
	CHECK_ERR(mq_send(q, "3", 1, 0), EAGAIN);
	CHECK_OK(mq_getattr(q, &a));
	CHECK_EQ(a.mq_curmsgs, 2);

	// Another description of the queue blocks; a dup does not.
	mqd_t other = mq_open(name, O_RDWR);
	CHECK(other >= 0);
	CHECK_OK(mq_getattr(other, &a));
	CHECK_EQ(a.mq_flags, 0);
	mqd_t d = dup(q);
	CHECK(d >= 0);
	CHECK_OK(mq_getattr(d, &a));
	CHECK_EQ(a.mq_flags, O_NONBLOCK);
	CHECK_ERR(mq_send(d, "3", 1, 0), EAGAIN);

	// mq_setattr clears it for every descriptor of the description.
	struct mq_attr set = {0, 99, 99, 99, {0}}, old;
	CHECK_OK(mq_setattr(d, &set, &old));
	CHECK_EQ(old.mq_flags, O_NONBLOCK);
	CHECK_EQ(old.mq_maxmsg, 2);
	CHECK_OK(mq_getattr(q, &a));
	CHECK_EQ(a.mq_flags, 0);
	CHECK_EQ(a.mq_maxmsg, 2); // only mq_flags changes
	CHECK_EQ(a.mq_msgsize, 16);
	CHECK_EQ(fcntl(q, F_GETFL) & O_NONBLOCK, 0);
	CHECK_EQ(mq_receive(q, buf, sizeof buf, &prio), 1);

	// fcntl sets it again, and mq_getattr sees it.
	CHECK_OK(fcntl(q, F_SETFL, O_NONBLOCK));
	CHECK_OK(mq_getattr(d, &a));
	CHECK_EQ(a.mq_flags, O_NONBLOCK);
	CHECK_EQ(mq_receive(q, buf, sizeof buf, &prio), 1);
	CHECK_ERR(mq_receive(q, buf, sizeof buf, &prio), EAGAIN);
	CHECK_ERR(mq_receive(d, buf, sizeof buf, &prio), EAGAIN);
	// The blocking description, with a timeout in the past, times out.
	struct timespec past = {0, 0};
	CHECK_ERR(mq_timedreceive(other, buf, sizeof buf, &prio, &past), ETIMEDOUT);
	// A non-blocking one says EAGAIN whatever the timeout.
	CHECK_ERR(mq_timedreceive(q, buf, sizeof buf, &prio, &past), EAGAIN);

	// mq_setattr accepts O_NONBLOCK only.
	set.mq_flags = O_NONBLOCK | O_RDWR;
	CHECK_ERR(mq_setattr(q, &set, NULL), EINVAL);
	set.mq_flags = O_NONBLOCK;
	CHECK_OK(mq_setattr(other, &set, NULL));
	CHECK_ERR(mq_receive(other, buf, sizeof buf, &prio), EAGAIN);

	CHECK_OK(mq_close(d));
	CHECK_OK(mq_close(other));
	CHECK_OK(mq_close(q));
	CHECK_OK(mq_unlink(name));
	return 0;
}
