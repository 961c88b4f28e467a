// thread_exit_group: exit_group from one thread ends every thread of the
// process at once, whatever they are doing (blocked in read, in a futex
// wait, in nanosleep, spinning): none of them runs another instruction that
// would be visible (a pipe write), and the status is exit_group's code.
//
//go:build ignore

#include "task_check.h"
#include <poll.h>

static int out[2], never[2];
static int fut;

static void *reader(void *arg) {
	(void)arg;
	char c;
	(void)!read(never[0], &c, 1); // nobody ever writes
	(void)!write(out[1], "R", 1);
	return NULL;
}

static void *waiter(void *arg) {
	(void)arg;
	futex(&fut, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
	(void)!write(out[1], "F", 1);
	return NULL;
}

static void *sleeper(void *arg) {
	(void)arg;
	struct timespec ts = {0, 300 * 1000000};
	nanosleep(&ts, NULL);
	(void)!write(out[1], "S", 1);
	return NULL;
}

static void *spinner(void *arg) {
	(void)arg;
	long long end = now_ns(CLOCK_MONOTONIC) + 300 * 1000000LL;
	while (now_ns(CLOCK_MONOTONIC) < end)
		;
	(void)!write(out[1], "P", 1);
	return NULL;
}

static void *killer(void *arg) {
	(void)arg;
	msleep(50);
	syscall(SYS_exit_group, 17);
	(void)!write(out[1], "K", 1);
	return NULL;
}

int main(void) {
	CHECK_OK(pipe(out));
	CHECK_OK(pipe(never));
	pid_t pid = XFORK();
	if (pid == 0) {
		close(out[0]);
		void *(*fns[])(void *) = {reader, waiter, sleeper, spinner, killer};
		for (unsigned i = 0; i < sizeof fns / sizeof fns[0]; i++) {
			pthread_t t;
			CHECK_EQ(pthread_create(&t, NULL, fns[i], NULL), 0);
		}
		struct timespec ts = {0, 400 * 1000000};
		nanosleep(&ts, NULL);
		(void)!write(out[1], "M", 1);
		_exit(1);
	}
	close(out[1]);
	close(never[0]);
	char buf[16];
	struct pollfd pf = {out[0], POLLIN, 0};
	if (poll(&pf, 1, 5000) != 1) // fail rather than hang
		FAIL("the threads' pipe is neither written nor closed after 5 s");
	ssize_t n = read(out[0], buf, sizeof buf); // EOF when every thread is gone
	if (n != 0)
		FAIL("a thread outlived exit_group and wrote %.*s", (int)(n > 0 ? n : 0), buf);
	WAIT_EXIT(pid, 17);
	close(never[1]);
	return 0;
}
