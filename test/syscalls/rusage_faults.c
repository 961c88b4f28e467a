// rusage_faults: touching fresh memory takes page faults, which
// getrusage counts in ru_minflt for the thread and the process, and
// /proc/PID/stat in min_flt; a reaped child's faults move to its
// parent's RUSAGE_CHILDREN and cmin_flt, and wait4 reports them; a
// thread's faults stay in its process's count after it exits. Counts
// only grow. (The sandbox serves fewer faults than Linux for the same
// touches, since it maps pages ahead; neither count is compared.)
//
//go:build ignore

#include "task_check.h"
#include <pthread.h>
#include <sys/resource.h>

#define TOUCH (8 << 20)

static void touch(void) {
	char *p = mmap(NULL, TOUCH, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(p != MAP_FAILED);
	memset(p, 1, TOUCH);
	CHECK_OK(munmap(p, TOUCH));
}

static long minflt(int who) {
	struct rusage r;
	CHECK_OK(getrusage(who, &r));
	CHECK(r.ru_majflt >= 0);
	return r.ru_minflt;
}

static void *thread_touch(void *arg) {
	long before = minflt(RUSAGE_THREAD);
	touch();
	*(long *)arg = minflt(RUSAGE_THREAD) - before;
	return NULL;
}

int main(void) {
	long self0 = minflt(RUSAGE_SELF), thread0 = minflt(RUSAGE_THREAD);
	CHECK(thread0 <= self0);
	touch();
	long self1 = minflt(RUSAGE_SELF);
	CHECK(self1 > self0);
	CHECK(minflt(RUSAGE_THREAD) > thread0);
	long stat1 = proc_stat_field(getpid(), 10);
	CHECK(stat1 >= self1);

	// A thread's faults are its own, and its process's after it exits.
	pthread_t th;
	long in_thread = 0;
	CHECK_OK(pthread_create(&th, NULL, thread_touch, &in_thread));
	CHECK_OK(pthread_join(th, NULL));
	CHECK(in_thread > 0);
	CHECK(minflt(RUSAGE_SELF) >= self1 + in_thread);

	// A child's faults: wait4 reports them, then RUSAGE_CHILDREN and
	// cmin_flt hold them.
	long children0 = minflt(RUSAGE_CHILDREN);
	CHECK_EQ(proc_stat_field(getpid(), 11), children0);
	fflush(NULL);
	pid_t pid = XFORK();
	if (pid == 0) {
		touch();
		_exit(0);
	}
	int status;
	struct rusage ru;
	CHECK_EQ(wait4(pid, &status, 0, &ru), pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(ru.ru_minflt > 0);
	long children1 = minflt(RUSAGE_CHILDREN);
	CHECK(children1 >= children0 + ru.ru_minflt);
	CHECK_EQ(proc_stat_field(getpid(), 11), children1);
	CHECK(proc_stat_field(getpid(), 12) >= 0); // maj_flt
	CHECK(proc_stat_field(getpid(), 13) >= 0); // cmaj_flt
	return 0;
}
