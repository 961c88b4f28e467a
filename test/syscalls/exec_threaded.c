// exec_threaded: execve from a non-leader thread of a multi-threaded process
// kills every other thread, and the new image runs as the process's only
// thread with the old pid as its tid (it takes over the leader's id): the
// old tids, the calling thread's included, are gone (tgkill ESRCH).
//
//go:build ignore

#include "task_check.h"

static char **gargv;
static pid_t tids[3];
static pthread_barrier_t bar;

static void *blocker(void *arg) {
	long i = (long)arg;
	tids[i] = gettid();
	pthread_barrier_wait(&bar);
	for (;;)
		pause();
	return NULL;
}

static void *execer(void *arg) {
	long i = (long)arg;
	tids[i] = gettid();
	pthread_barrier_wait(&bar);
	char buf[128];
	snprintf(buf, sizeof buf, "%d,%d,%d,%d", getpid(), tids[0], tids[1], tids[2]);
	reexec(gargv, "after-exec", buf, NULL);
	return NULL;
}

static int after(const char *arg) {
	int pid, t[3];
	if (sscanf(arg, "%d,%d,%d,%d", &pid, &t[0], &t[1], &t[2]) != 4)
		return 10;
	CHECK_EQ(getpid(), pid);
	CHECK_EQ(gettid(), pid);
	for (int i = 0; i < 3; i++) {
		CHECK(t[i] != pid);
		CHECK_ERR(syscall(SYS_tgkill, pid, t[i], 0), ESRCH);
	}
	return 42;
}

int main(int argc, char **argv) {
	if (argc > 3 && strcmp(argv[2], "after-exec") == 0)
		return after(argv[3]);
	gargv = argv;
	pid_t pid = XFORK();
	if (pid == 0) {
		CHECK_EQ(pthread_barrier_init(&bar, NULL, 3), 0);
		pthread_t t;
		CHECK_EQ(pthread_create(&t, NULL, blocker, (void *)0), 0);
		CHECK_EQ(pthread_create(&t, NULL, blocker, (void *)1), 0);
		CHECK_EQ(pthread_create(&t, NULL, execer, (void *)2), 0);
		for (;;)
			pause(); // the leader blocks too
	}
	WAIT_EXIT(pid, 42);
	return 0;
}
