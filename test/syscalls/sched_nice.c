// sched_nice: setpriority/getpriority keep a nice value per thread, which
// fork inherits and /proc/PID/stat shows (priority 20 + nice, then nice);
// values are clamped to -20..19; PRIO_PGRP reaches a process group's
// processes; an unknown target is ESRCH and an unknown `which` EINVAL;
// without CAP_SYS_NICE, lowering the value past RLIMIT_NICE is EACCES and
// another user's process is EPERM.
//
//go:build ignore

#include "fs_check.h"
#include <pthread.h>
#include <sys/resource.h>

static int prio(int which, int who) {
	errno = 0;
	int n = getpriority(which, who);
	CHECK(errno == 0);
	return n;
}

// stat_prio reads fields 18 and 19 (priority, nice) of /proc/PID/stat.
static void stat_prio(pid_t pid, long *priority, long *nice) {
	*priority = proc_stat_field(pid, 18);
	*nice = proc_stat_field(pid, 19);
}

static void *thread_nice(void *arg) {
	(void)arg;
	CHECK_OK(setpriority(PRIO_PROCESS, gettid(), 7));
	CHECK_EQ(prio(PRIO_PROCESS, 0), 7);
	return NULL;
}

static void unprivileged(void *arg) {
	pid_t root_owned = *(pid_t *)arg;
	CHECK_EQ(prio(PRIO_PROCESS, 0), 0);
	CHECK_OK(setpriority(PRIO_PROCESS, 0, 3)); // raising is always allowed
	CHECK_ERR(setpriority(PRIO_PROCESS, 0, 1), EACCES);
	CHECK_EQ(prio(PRIO_PROCESS, 0), 3);
	CHECK_ERR(setpriority(PRIO_PROCESS, root_owned, 10), EPERM);
}

int main(void) {
	CHECK_EQ(prio(PRIO_PROCESS, 0), 0);
	CHECK_OK(setpriority(PRIO_PROCESS, 0, 5));
	CHECK_EQ(prio(PRIO_PROCESS, 0), 5);
	CHECK_EQ(prio(PRIO_PROCESS, getpid()), 5);
	long priority, nice;
	stat_prio(getpid(), &priority, &nice);
	CHECK_EQ(priority, 25);
	CHECK_EQ(nice, 5);

	// Per thread.
	pthread_t th;
	CHECK_OK(pthread_create(&th, NULL, thread_nice, NULL));
	CHECK_OK(pthread_join(th, NULL));
	CHECK_EQ(prio(PRIO_PROCESS, 0), 5);

	// Inherited by fork; a child in its own process group.
	int p[2];
	CHECK_OK(pipe(p));
	fflush(NULL);
	pid_t pid = XFORK();
	if (pid == 0) {
		close(p[1]);
		CHECK_EQ(prio(PRIO_PROCESS, 0), 5);
		CHECK_OK(setpgid(0, 0));
		CHECK_OK(setpriority(PRIO_PROCESS, 0, 10));
		char c;
		(void)!read(p[0], &c, 1); // until the parent is done
		_exit(0);
	}
	close(p[0]);
	for (int i = 0; i < 500 && prio(PRIO_PROCESS, pid) != 10; i++)
		usleep(2000);
	CHECK_EQ(prio(PRIO_PROCESS, pid), 10);
	CHECK_OK(setpriority(PRIO_PGRP, pid, 12));
	CHECK_EQ(prio(PRIO_PROCESS, pid), 12);
	CHECK_EQ(prio(PRIO_PGRP, pid), 12);
	stat_prio(pid, &priority, &nice);
	CHECK_EQ(nice, 12);
	close(p[1]);
	WAIT_EXIT(pid, 0);

	// Clamping, errors.
	CHECK_OK(setpriority(PRIO_PROCESS, 0, 100));
	CHECK_EQ(prio(PRIO_PROCESS, 0), 19);
	CHECK_OK(setpriority(PRIO_PROCESS, 0, -100)); // root: CAP_SYS_NICE
	CHECK_EQ(prio(PRIO_PROCESS, 0), -20);
	CHECK_OK(setpriority(PRIO_PROCESS, 0, 0));
	CHECK_ERR(getpriority(PRIO_PROCESS, 999999), ESRCH);
	CHECK_ERR(setpriority(PRIO_PROCESS, 999999, 1), ESRCH);
	CHECK_ERR(getpriority(PRIO_USER, 4242424), ESRCH);
	CHECK_ERR(getpriority(5, 0), EINVAL);

	if (geteuid() == 0) {
		struct rlimit rl = {0, 0};
		CHECK_OK(setrlimit(RLIMIT_NICE, &rl));
		pid_t me = getpid();
		as_nobody(unprivileged, &me);
	}
	return 0;
}
