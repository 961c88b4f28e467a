// procfs_task: /proc/self/task has one entry per thread, named by tid (the
// main thread's is the pid); a new thread appears with the tid it sees from
// gettid, its task/<tid>/stat has that tid and the thread's own name, and
// after it has been joined its entry is gone.
//
//go:build ignore

#include "procfs_check.h"
#include <dirent.h>

enum { N = 3 };
static pid_t tids[N];
static pthread_barrier_t bar;

static void *worker(void *arg) {
	long i = (long)arg;
	tids[i] = gettid();
	char name[16];
	snprintf(name, sizeof name, "worker-%ld", i);
	prctl(PR_SET_NAME, name);
	pthread_barrier_wait(&bar);
	pthread_barrier_wait(&bar);
	return NULL;
}

// list fills out with the tids in /proc/self/task and returns how many.
static int list(pid_t *out, int max) {
	DIR *d = opendir("/proc/self/task");
	if (!d)
		FAIL("opendir /proc/self/task (errno %d %s)", errno, errname(errno));
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		CHECK(n < max);
		out[n++] = atoi(e->d_name);
	}
	closedir(d);
	return n;
}

static int has(pid_t *l, int n, pid_t t) {
	for (int i = 0; i < n; i++)
		if (l[i] == t)
			return 1;
	return 0;
}

int main(void) {
	pid_t l[64];
	int n = list(l, 64);
	CHECK_EQ(n, 1);
	CHECK_EQ(l[0], getpid());

	CHECK_EQ(pthread_barrier_init(&bar, NULL, N + 1), 0);
	pthread_t t[N];
	for (long i = 0; i < N; i++)
		CHECK_EQ(pthread_create(&t[i], NULL, worker, (void *)i), 0);
	pthread_barrier_wait(&bar);
	n = list(l, 64);
	CHECK_EQ(n, N + 1);
	CHECK(has(l, n, getpid()));
	for (int i = 0; i < N; i++) {
		CHECK(has(l, n, tids[i]));
		char path[64], st[1024], comm[32], want[16];
		snprintf(path, sizeof path, "/proc/self/task/%d/stat", tids[i]);
		READ_PROC(path, st);
		CHECK_EQ(stat_field(st, 1, comm, sizeof comm), tids[i]);
		snprintf(want, sizeof want, "worker-%d", i);
		CHECK(strcmp(comm, want) == 0);
	}
	pthread_barrier_wait(&bar);
	for (int i = 0; i < N; i++)
		CHECK_EQ(pthread_join(t[i], NULL), 0);
	// join returns on the CLONE_CHILD_CLEARTID wake, a moment before the
	// kernel forgets the threads: poll for them to go.
	for (int i = 0; (n = list(l, 64)) != 1; i++) {
		CHECK(i < 5000);
		usleep(1000);
	}
	CHECK_EQ(l[0], getpid());
	char path[64];
	snprintf(path, sizeof path, "/proc/self/task/%d", tids[0]);
	struct stat sb;
	CHECK_ERR(stat(path, &sb), ENOENT);
	return 0;
}
