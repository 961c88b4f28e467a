// thread_many: 64 threads alive at once all see the same getpid() and
// getppid(), each has a distinct gettid() (the main thread's tid is the
// pid), and the tids are valid tgkill targets while the threads live; 200
// more short-lived threads run one batch after another.
//
//go:build ignore

#include "task_check.h"

enum { N = 64 };
static pid_t tids[N], pids[N], ppids[N];
static pthread_barrier_t alive, checked;
static atomic_int runs;

static void *worker(void *arg) {
	long i = (long)arg;
	tids[i] = gettid();
	pids[i] = getpid();
	ppids[i] = getppid();
	pthread_barrier_wait(&alive);
	pthread_barrier_wait(&checked); // stay alive until main has checked
	return NULL;
}

static void *short_lived(void *arg) {
	(void)arg;
	atomic_fetch_add(&runs, 1);
	return NULL;
}

int main(void) {
	CHECK_EQ(pthread_barrier_init(&alive, NULL, N + 1), 0);
	CHECK_EQ(pthread_barrier_init(&checked, NULL, N + 1), 0);
	CHECK_EQ(gettid(), getpid());
	pthread_attr_t attr;
	CHECK_EQ(pthread_attr_init(&attr), 0);
	CHECK_EQ(pthread_attr_setstacksize(&attr, 64 * 1024), 0);
	pthread_t t[N];
	for (long i = 0; i < N; i++)
		CHECK_EQ(pthread_create(&t[i], &attr, worker, (void *)i), 0);
	pthread_barrier_wait(&alive);
	for (int i = 0; i < N; i++) {
		CHECK_EQ(pids[i], getpid());
		CHECK_EQ(ppids[i], getppid());
		CHECK(tids[i] > 0);
		CHECK(tids[i] != getpid());
		CHECK_EQ(syscall(SYS_tgkill, getpid(), tids[i], 0), 0);
		for (int j = 0; j < i; j++)
			CHECK(tids[i] != tids[j]);
	}
	pthread_barrier_wait(&checked);
	for (int i = 0; i < N; i++)
		CHECK_EQ(pthread_join(t[i], NULL), 0);

	for (int b = 0; b < 10; b++) {
		pthread_t s[20];
		for (int i = 0; i < 20; i++)
			CHECK_EQ(pthread_create(&s[i], &attr, short_lived, NULL), 0);
		for (int i = 0; i < 20; i++)
			CHECK_EQ(pthread_join(s[i], NULL), 0);
	}
	CHECK_EQ(atomic_load(&runs), 200);
	return 0;
}
