// prctl_name: PR_SET_NAME names the calling thread only (other threads keep
// theirs; pthread_getname_np reads a thread's name from outside), names are
// cut to 15 bytes, a new thread starts with its creator's name, and a fork
// child inherits the name of the thread that forked.
//
//go:build ignore

#include "task_check.h"

static char seen_at_start[16], seen_after[16];
static pthread_barrier_t bar;

static void *worker(void *arg) {
	(void)arg;
	prctl(PR_GET_NAME, seen_at_start);
	prctl(PR_SET_NAME, "worker-thread-with-a-long-name");
	pthread_barrier_wait(&bar); // named
	pthread_barrier_wait(&bar); // main renamed itself
	prctl(PR_GET_NAME, seen_after);
	return NULL;
}

int main(void) {
	char name[32];
	CHECK_OK(prctl(PR_SET_NAME, "main-name"));
	CHECK_EQ(pthread_barrier_init(&bar, NULL, 2), 0);
	pthread_t t;
	CHECK_EQ(pthread_create(&t, NULL, worker, NULL), 0);
	pthread_barrier_wait(&bar);
	CHECK_OK(prctl(PR_GET_NAME, name));
	CHECK(strcmp(name, "main-name") == 0); // the worker's rename was its own
	CHECK_OK(prctl(PR_SET_NAME, "main-renamed"));
	pthread_barrier_wait(&bar);
	CHECK_EQ(pthread_join(t, NULL), 0);
	CHECK(strcmp(seen_at_start, "main-name") == 0);
	CHECK(strcmp(seen_after, "worker-thread-w") == 0); // 15 bytes, kept

	pid_t pid = XFORK();
	if (pid == 0) {
		char n[16];
		prctl(PR_GET_NAME, n);
		_exit(strcmp(n, "main-renamed") == 0 ? 0 : 1);
	}
	WAIT_EXIT(pid, 0);
	return 0;
}
