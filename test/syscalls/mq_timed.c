// mq_timedsend(3)/mq_timedreceive(3): the timeout is an absolute
// CLOCK_REALTIME time; a call that would block fails with ETIMEDOUT once it
// passes (at once if it has), and a message or room that comes first ends
// the wait. The timeout is checked first: EINVAL for tv_nsec outside
// [0, 1e9) or a negative tv_sec, EFAULT for a bad pointer, before the
// descriptor. A signal handler interrupts a blocked call with EINTR, or
// restarts it with SA_RESTART (signal(7) lists these calls), and the
// restarted call keeps the original deadline.
//go:build ignore

#include "mq_check.h"
#include <sys/time.h>

static mqd_t q;
static atomic_int alarms;

static void on_alarm(int sig, siginfo_t *si, void *uc) {
	(void)sig, (void)si, (void)uc;
	alarms++;
}

static void arm(long ms) {
	struct itimerval it = {{0, 0}, {ms / 1000, (ms % 1000) * 1000}};
	CHECK_OK(setitimer(ITIMER_REAL, &it, NULL));
}

static void *send_later(void *arg) {
	(void)arg;
	msleep(50);
	CHECK_OK(mq_send(q, "late", 4, 3));
	return NULL;
}

static void *receive_later(void *arg) {
	(void)arg;
	char buf[32];
	msleep(50);
	CHECK_EQ(mq_receive(q, buf, sizeof buf, NULL), 1);
	return NULL;
}

int main(void) {
	mq_fresh_namespace();
	const char *name = mq_name("timed");
	q = mq_make(name, O_RDWR, 1, 32);
	char buf[32];
	unsigned prio;

	// Timeouts on an empty queue.
	struct timespec t = deadline_ms(60);
	long long start = now_ns(CLOCK_MONOTONIC);
	CHECK_ERR(mq_timedreceive(q, buf, sizeof buf, &prio, &t), ETIMEDOUT);
	CHECK(now_ns(CLOCK_MONOTONIC) - start >= 50 * 1000000LL);
	struct timespec past = {1, 0};
	CHECK_ERR(mq_timedreceive(q, buf, sizeof buf, &prio, &past), ETIMEDOUT);

	// Invalid timeouts, checked before anything else.
	struct timespec bad[] = {{0, 1000000000L}, {0, -1}, {-1, 0}};
	for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		CHECK_ERR(mq_timedreceive(q, buf, sizeof buf, &prio, &bad[i]), EINVAL);
		CHECK_ERR(mq_timedreceive(-1, buf, sizeof buf, &prio, &bad[i]), EINVAL);
		CHECK_ERR(mq_timedsend(-1, "x", 1, MQ_PRIO_MAX, &bad[i]), EINVAL);
	}
	CHECK_ERR(syscall(SYS_mq_timedreceive, q, buf, sizeof buf, &prio, (void *)8), EFAULT);
	CHECK_ERR(syscall(SYS_mq_timedsend, -1, "x", 1, 0, (void *)8), EFAULT);

	// A message ends the wait.
	pthread_t th;
	CHECK_EQ(pthread_create(&th, NULL, send_later, NULL), 0);
	t = deadline_ms(5000);
	CHECK_EQ(mq_timedreceive(q, buf, sizeof buf, &prio, &t), 4);
	CHECK_EQ(prio, 3);
	CHECK_EQ(pthread_join(th, NULL), 0);

	// A full queue: the send times out, or room ends the wait.
	CHECK_OK(mq_send(q, "1", 1, 0));
	t = deadline_ms(60);
	start = now_ns(CLOCK_MONOTONIC);
	CHECK_ERR(mq_timedsend(q, "2", 1, 0, &t), ETIMEDOUT);
	CHECK(now_ns(CLOCK_MONOTONIC) - start >= 50 * 1000000LL);
	CHECK_ERR(mq_timedsend(q, "2", 1, 0, &past), ETIMEDOUT);
	// Invalid even though a message would not have to wait.
	CHECK_ERR(mq_timedreceive(q, buf, sizeof buf, &prio, &bad[0]), EINVAL);
	CHECK_EQ(pthread_create(&th, NULL, receive_later, NULL), 0);
	t = deadline_ms(5000);
	CHECK_OK(mq_timedsend(q, "2", 1, 0, &t));
	CHECK_EQ(pthread_join(th, NULL), 0);
	// Not blocking, a timeout in the past does not matter.
	CHECK_EQ(mq_timedreceive(q, buf, sizeof buf, &prio, &past), 1);
	CHECK_EQ(buf[0], '2');

	// Signals: EINTR without SA_RESTART...
	install(SIGALRM, on_alarm, 0);
	arm(30);
	t = deadline_ms(5000);
	CHECK_ERR(mq_timedreceive(q, buf, sizeof buf, &prio, &t), EINTR);
	CHECK_EQ(alarms, 1);
	CHECK_OK(mq_send(q, "f", 1, 0));
	arm(30);
	CHECK_ERR(mq_send(q, "g", 1, 0), EINTR);
	CHECK_EQ(alarms, 2);
	CHECK_EQ(mq_receive(q, buf, sizeof buf, &prio), 1);

	// ... a restart with it, until the original deadline.
	install(SIGALRM, on_alarm, SA_RESTART);
	arm(30);
	t = deadline_ms(300);
	start = now_ns(CLOCK_MONOTONIC);
	CHECK_ERR(mq_timedreceive(q, buf, sizeof buf, &prio, &t), ETIMEDOUT);
	CHECK_EQ(alarms, 3);
	long long took = now_ns(CLOCK_MONOTONIC) - start;
	CHECK(took >= 280 * 1000000LL && took < 5000 * 1000000LL);
	CHECK_EQ(pthread_create(&th, NULL, send_later, NULL), 0);
	arm(20);
	CHECK_EQ(mq_receive(q, buf, sizeof buf, &prio), 4);
	CHECK_EQ(alarms, 4);
	CHECK_EQ(pthread_join(th, NULL), 0);

	CHECK_OK(mq_close(q));
	CHECK_OK(mq_unlink(name));
	return 0;
}
