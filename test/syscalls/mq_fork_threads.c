// A queue shared by processes and threads: a forked child inherits the
// descriptor (same open file description) and the parent's sends block
// while the queue is full until the child makes room; sleeping receivers
// are woken one per message, first asleep first served (all tasks have the
// same priority), and a receiver that makes room lets the first sleeping
// sender's message in; a child registered with mq_notify gets SI_MESGQ
// with the parent's process ID when the parent sends, and a registration
// goes when its process exits.
//go:build ignore

#include "mq_check.h"

static mqd_t q;
static atomic_int tids[3];

struct sender {
	int i;
	char text[2];
	unsigned prio;
};

static void *receive_one(void *arg) {
	int i = (int)(long)arg;
	char buf[16];
	tids[i] = syscall(SYS_gettid);
	CHECK_EQ(mq_receive(q, buf, sizeof buf, NULL), 1);
	return (void *)(long)buf[0];
}

static void *send_one(void *arg) {
	struct sender *s = arg;
	tids[s->i] = syscall(SYS_gettid);
	CHECK_OK(mq_send(q, s->text, 1, s->prio));
	return NULL;
}

static pid_t started(int i) {
	while (!tids[i])
		usleep(1000);
	return tids[i];
}

int main(void) {
	mq_fresh_namespace();
	const char *name = mq_name("share");
	q = mq_make(name, O_RDWR, 2, 16);
	char buf[16];
	unsigned prio;

	// A child drains what the parent sends, the parent blocking on a
	// full queue.
	fflush(NULL);
	pid_t child = XFORK();
	if (child == 0) {
		alarm(10);
		msleep(50); // let the parent fill the queue and block
		for (int i = 0; i < 6; i++) {
			CHECK_EQ(mq_receive(q, buf, sizeof buf, &prio), 1);
			CHECK_EQ(buf[0], '0' + i);
		}
		_exit(0);
	}
	for (int i = 0; i < 6; i++) {
		char c = '0' + i;
		CHECK_OK(mq_send(q, &c, 1, 0));
	}
	WAIT_EXIT(child, 0);
	struct mq_attr a;
	CHECK_OK(mq_getattr(q, &a));
	CHECK_EQ(a.mq_curmsgs, 0);

	// A child blocked receiving gets the parent's message.
	child = XFORK();
	if (child == 0) {
		alarm(10);
		CHECK_EQ(mq_receive(q, buf, sizeof buf, &prio), 1);
		CHECK_EQ(buf[0], 'k');
		CHECK_EQ(prio, 4);
		_exit(0);
	}
	wait_child_blocked(child);
	CHECK_OK(mq_send(q, "k", 1, 4));
	WAIT_EXIT(child, 0);

	// Sleeping receivers, woken in the order they slept.
	pthread_t th[3];
	for (int i = 0; i < 3; i++) {
		CHECK_EQ(pthread_create(&th[i], NULL, receive_one, (void *)(long)i), 0);
		wait_thread_blocked(started(i));
	}
	for (int i = 0; i < 3; i++) {
		char c = 'a' + i;
		CHECK_OK(mq_send(q, &c, 1, 0));
	}
	for (int i = 0; i < 3; i++) {
		void *got;
		CHECK_EQ(pthread_join(th[i], &got), 0);
		CHECK_EQ((long)got, 'a' + i);
	}

	// Sleeping senders: each receive lets the first one's message in.
	memset(tids, 0, sizeof tids);
	CHECK_OK(mq_send(q, "x", 1, 0));
	CHECK_OK(mq_send(q, "y", 1, 0));
	struct sender s[2] = {{0, "A", 1}, {1, "B", 9}};
	for (int i = 0; i < 2; i++) {
		CHECK_EQ(pthread_create(&th[i], NULL, send_one, &s[i]), 0);
		wait_thread_blocked(started(i));
	}
	// "A" (priority 1) goes in when "x" leaves, ahead of "y"; "B"
	// (priority 9) when "A" leaves.
	const char *want = "xAB";
	for (int i = 0; i < 3; i++) {
		CHECK_EQ(mq_receive(q, buf, sizeof buf, &prio), 1);
		CHECK_EQ(buf[0], want[i]);
		if (i == 0) {
			CHECK_EQ(pthread_join(th[0], NULL), 0);
			CHECK_OK(mq_getattr(q, &a));
			CHECK_EQ(a.mq_curmsgs, 2); // "y" and "A"
		}
	}
	CHECK_EQ(pthread_join(th[1], NULL), 0);
	CHECK_EQ(mq_receive(q, buf, sizeof buf, &prio), 1);
	CHECK_EQ(buf[0], 'y');

	// A child's registration, notified of the parent's message.
	int p[2];
	CHECK_OK(pipe(p));
	block(SIGUSR1, SIG_BLOCK);
	child = XFORK();
	if (child == 0) {
		alarm(10);
		struct sigevent ev;
		memset(&ev, 0, sizeof ev);
		ev.sigev_notify = SIGEV_SIGNAL;
		ev.sigev_signo = SIGUSR1;
		ev.sigev_value.sival_int = 7;
		CHECK_OK(mq_notify(q, &ev));
		CHECK_EQ(write(p[1], "r", 1), 1);
		sigset_t set;
		sigemptyset(&set);
		sigaddset(&set, SIGUSR1);
		siginfo_t si;
		struct timespec t = {5, 0};
		CHECK_EQ(sigtimedwait(&set, &si, &t), SIGUSR1);
		CHECK_EQ(si.si_code, SI_MESGQ);
		CHECK_EQ(si.si_pid, getppid());
		CHECK_EQ(si.si_value.sival_int, 7);
		_exit(0);
	}
	CHECK_EQ(read(p[0], buf, 1), 1);
	struct sigevent ev = {.sigev_notify = SIGEV_NONE};
	CHECK_ERR(mq_notify(q, &ev), EBUSY);
	CHECK_OK(mq_send(q, "n", 1, 0));
	WAIT_EXIT(child, 0);
	CHECK_EQ(mq_receive(q, buf, sizeof buf, &prio), 1);
	// A registration dies with its process (its descriptors close).
	child = XFORK();
	if (child == 0) {
		CHECK_OK(mq_notify(q, &ev));
		_exit(0);
	}
	WAIT_EXIT(child, 0);
	CHECK_OK(mq_notify(q, &ev));

	CHECK_OK(mq_close(q));
	CHECK_OK(mq_unlink(name));
	return 0;
}
