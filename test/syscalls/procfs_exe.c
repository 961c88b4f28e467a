// procfs_exe: /proc/self/exe links to the running executable (the realpath
// of argv[0]) and opens the same file; /proc/self/cwd follows chdir;
// /proc/self/root is "/"; /proc/self is the pid and /proc/thread-self is
// "<pid>/task/<tid>" (in a thread, its own tid).
//
//go:build ignore

#include "procfs_check.h"
#include <limits.h>

static char thread_self[64];
static void *in_thread(void *arg) {
	(void)arg;
	ssize_t n = readlink("/proc/thread-self", thread_self, sizeof thread_self - 1);
	if (n > 0)
		thread_self[n] = 0;
	char want[64];
	snprintf(want, sizeof want, "%d/task/%d", getpid(), gettid());
	return (void *)(long)(n > 0 && strcmp(thread_self, want) == 0);
}

int main(int argc, char **argv) {
	char link[PATH_MAX], real[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", link, sizeof link - 1);
	CHECK(n > 0);
	link[n] = 0;
	CHECK(realpath(argv[0], real) != NULL);
	CHECK(strcmp(link, real) == 0);
	struct stat a, b;
	CHECK_OK(stat("/proc/self/exe", &a));
	CHECK_OK(stat(argv[0], &b));
	CHECK_EQ(a.st_ino, b.st_ino);
	CHECK_EQ(a.st_dev, b.st_dev);

	CHECK_OK(chdir(fixture(argc, argv, "dir")));
	n = readlink("/proc/self/cwd", link, sizeof link - 1);
	CHECK(n > 0);
	link[n] = 0;
	CHECK(getcwd(real, sizeof real) != NULL);
	CHECK(strcmp(link, real) == 0);
	n = readlink("/proc/self/root", link, sizeof link - 1);
	CHECK_EQ(n, 1);
	CHECK_EQ(link[0], '/');

	n = readlink("/proc/self", link, sizeof link - 1);
	CHECK(n > 0);
	link[n] = 0;
	CHECK_EQ(atoi(link), getpid());
	n = readlink("/proc/thread-self", link, sizeof link - 1);
	CHECK(n > 0);
	link[n] = 0;
	char want[64];
	snprintf(want, sizeof want, "%d/task/%d", getpid(), gettid());
	CHECK(strcmp(link, want) == 0);
	pthread_t t;
	void *ok;
	CHECK_EQ(pthread_create(&t, NULL, in_thread, NULL), 0);
	CHECK_EQ(pthread_join(t, &ok), 0);
	if (!ok)
		FAIL("thread saw /proc/thread-self -> %s", thread_self);
	return 0;
}
