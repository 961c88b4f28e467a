// thread_detach: detached threads run to completion on their own, and a
// process outlives its main thread: after main calls pthread_exit, the
// process is not reported as exited while a detached thread still runs, and
// its status is what that last thread passes to exit.
//
//go:build ignore

#include "task_check.h"

enum { N = 16 };
static atomic_int done;
static int go_pipe[2], report[2];

static void *counter(void *arg) {
	(void)arg;
	atomic_fetch_add(&done, 1);
	futex(&done, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	return NULL;
}

static void *last_thread(void *arg) {
	(void)arg;
	char c;
	if (read(go_pipe[0], &c, 1) != 1) // wait for the parent's go-ahead
		_exit(20);
	if (write(report[1], "d", 1) != 1)
		_exit(21);
	exit(7);
}

int main(void) {
	// Detached threads, both ways of detaching.
	pthread_attr_t attr;
	CHECK_EQ(pthread_attr_init(&attr), 0);
	CHECK_EQ(pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED), 0);
	for (int i = 0; i < N; i++) {
		pthread_t t;
		if (i % 2) {
			CHECK_EQ(pthread_create(&t, &attr, counter, NULL), 0);
		} else {
			CHECK_EQ(pthread_create(&t, NULL, counter, NULL), 0);
			CHECK_EQ(pthread_detach(t), 0);
		}
	}
	struct timespec to = {0, 10 * 1000000};
	for (int i = 0; atomic_load(&done) < N; i++) {
		CHECK(i < 500);
		int v = atomic_load(&done);
		if (v < N)
			futex(&done, FUTEX_WAIT_PRIVATE, v, &to, NULL, 0);
	}

	// The process outlives its main thread.
	CHECK_OK(pipe(go_pipe));
	CHECK_OK(pipe(report));
	pid_t pid = XFORK();
	if (pid == 0) {
		pthread_t t;
		CHECK_EQ(pthread_create(&t, &attr, last_thread, NULL), 0);
		CHECK_EQ(write(report[1], "m", 1), 1);
		pthread_exit(NULL);
	}
	char c;
	CHECK_EQ(read(report[0], &c, 1), 1);
	CHECK_EQ(c, 'm');
	msleep(50); // let the main thread finish exiting
	int ws;
	CHECK_EQ(waitpid(pid, &ws, WNOHANG), 0); // still alive: one thread left
	CHECK_EQ(write(go_pipe[1], "g", 1), 1);
	CHECK_EQ(read(report[0], &c, 1), 1);
	CHECK_EQ(c, 'd');
	WAIT_EXIT(pid, 7);
	return 0;
}
