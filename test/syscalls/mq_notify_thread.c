// mq_notify(3) with SIGEV_THREAD, as glibc does it: the kernel queues the
// 32-byte cookie on glibc's netlink socket when a message arrives on the
// empty queue, and glibc's helper thread reads it and runs the
// notification function in a new thread with sigev_value. The
// registration is used up, and a second one works again.
//go:build ignore

#include "mq_check.h"

static mqd_t q;
static atomic_int calls;
static atomic_long seen;

static void notified(union sigval v) {
	atomic_store(&seen, (long)v.sival_int);
	atomic_fetch_add(&calls, 1);
}

static int wait_calls(int want) {
	for (int i = 0; i < 400 && atomic_load(&calls) < want; i++)
		msleep(5);
	return atomic_load(&calls);
}

int main(void) {
	mq_fresh_namespace();
	const char *name = mq_name("nthread");
	struct mq_attr attr = {.mq_maxmsg = 4, .mq_msgsize = 16};
	q = mq_open(name, O_CREAT | O_EXCL | O_RDWR, 0600, &attr);
	CHECK(q != (mqd_t)-1);

	for (int round = 1; round <= 2; round++) {
		struct sigevent ev;
		memset(&ev, 0, sizeof ev);
		ev.sigev_notify = SIGEV_THREAD;
		ev.sigev_notify_function = notified;
		ev.sigev_value.sival_int = 40 + round;
		CHECK_OK(mq_notify(q, &ev));
		CHECK_ERR(mq_notify(q, &ev), EBUSY);
		CHECK_OK(mq_send(q, "m", 1, 0));
		CHECK_EQ(wait_calls(round), round);
		CHECK_EQ(atomic_load(&seen), 40 + round);
		char buf[16];
		CHECK_EQ(mq_receive(q, buf, sizeof buf, NULL), 1);
	}
	// Used up: a message now notifies nobody.
	CHECK_OK(mq_send(q, "m", 1, 0));
	msleep(50);
	CHECK_EQ(atomic_load(&calls), 2);

	CHECK_OK(mq_close(q));
	CHECK_OK(mq_unlink(name));
	return 0;
}
