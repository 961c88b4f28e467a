// sched_policy: sched_setscheduler keeps a normal policy per thread
// (SCHED_OTHER, SCHED_BATCH, SCHED_IDLE) that sched_getscheduler and
// /proc/PID/stat (field 41) show and fork inherits; SCHED_RESET_ON_FORK
// reads back with the policy and is not inherited, and its child starts
// at nice 0 from a negative nice; a normal policy takes priority 0 only
// (EINVAL otherwise, and for an unknown policy); sched_setparam keeps the
// policy; an unknown target is ESRCH. SCHED_IDLE makes the I/O priority
// a thread without one gets idle. Without CAP_SYS_NICE, another user's
// thread is EPERM, and so are leaving SCHED_IDLE past RLIMIT_NICE and
// clearing SCHED_RESET_ON_FORK.
//
//go:build ignore

#include "fs_check.h"
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>

// stat_policy reads field 41 (policy) of /proc/PID/stat.
static long stat_policy(pid_t pid) { return proc_stat_field(pid, 41); }

static int set(pid_t pid, int policy) {
	struct sched_param sp = {0};
	return sched_setscheduler(pid, policy, &sp);
}

static void unprivileged(void *arg) {
	pid_t root_owned = *(pid_t *)arg;
	CHECK_EQ(sched_getscheduler(0), SCHED_OTHER);
	CHECK_OK(set(0, SCHED_BATCH));
	CHECK_OK(set(0, SCHED_OTHER));
	CHECK_OK(set(0, SCHED_IDLE | SCHED_RESET_ON_FORK));
	CHECK_ERR(set(0, SCHED_IDLE), EPERM);   // clearing the flag
	CHECK_ERR(set(0, SCHED_OTHER | SCHED_RESET_ON_FORK), EPERM); // leaving idle, RLIMIT_NICE 0
	CHECK_ERR(set(root_owned, SCHED_BATCH), EPERM);
	struct sched_param sp = {.sched_priority = 1};
	CHECK_ERR(sched_setscheduler(0, SCHED_FIFO, &sp), EPERM);
	CHECK_EQ(sched_getscheduler(0), SCHED_IDLE | SCHED_RESET_ON_FORK);
	CHECK_EQ(sched_getscheduler(root_owned), SCHED_OTHER); // reading is allowed
}

int main(void) {
	CHECK_EQ(sched_getscheduler(0), SCHED_OTHER);
	CHECK_EQ(stat_policy(getpid()), SCHED_OTHER);

	CHECK_OK(set(0, SCHED_BATCH));
	CHECK_EQ(sched_getscheduler(0), SCHED_BATCH);
	CHECK_EQ(sched_getscheduler(getpid()), SCHED_BATCH);
	CHECK_EQ(stat_policy(getpid()), SCHED_BATCH);
	struct sched_param sp = {0};
	CHECK_OK(sched_setparam(0, &sp));
	CHECK_EQ(sched_getscheduler(0), SCHED_BATCH);
	sp.sched_priority = 3;
	CHECK_ERR(sched_setparam(0, &sp), EINVAL);
	CHECK_ERR(sched_setscheduler(0, SCHED_BATCH, &sp), EINVAL);
	CHECK_ERR(set(0, 4), EINVAL);
	CHECK_ERR(set(0, 42), EINVAL);
	CHECK_ERR(set(0, -1), EINVAL);
	CHECK_ERR(sched_setscheduler(0, SCHED_OTHER, NULL), EINVAL);
	CHECK_ERR(set(999999, SCHED_OTHER), ESRCH);
	CHECK_ERR(sched_getscheduler(999999), ESRCH);
	CHECK_ERR(sched_getscheduler(-1), EINVAL);

	// Inherited by fork.
	fflush(NULL);
	pid_t pid = XFORK();
	if (pid == 0) {
		CHECK_EQ(sched_getscheduler(0), SCHED_BATCH);
		_exit(0);
	}
	WAIT_EXIT(pid, 0);

	// SCHED_RESET_ON_FORK: shown, not inherited, and a negative nice
	// becomes 0 in the child.
	CHECK_OK(set(0, SCHED_BATCH | SCHED_RESET_ON_FORK));
	CHECK_EQ(sched_getscheduler(0), SCHED_BATCH | SCHED_RESET_ON_FORK);
	CHECK_OK(setpriority(PRIO_PROCESS, 0, -5));
	pid = XFORK();
	if (pid == 0) {
		CHECK_EQ(sched_getscheduler(0), SCHED_BATCH);
		errno = 0;
		CHECK_EQ(getpriority(PRIO_PROCESS, 0), 0);
		_exit(0);
	}
	WAIT_EXIT(pid, 0);
	CHECK_OK(setpriority(PRIO_PROCESS, 0, 0));

	// SCHED_IDLE: the I/O priority without a class is idle (read for
	// a process group of one, the child's own).
	pid = XFORK();
	if (pid == 0) {
		CHECK_OK(setpgid(0, 0));
		CHECK_OK(set(0, SCHED_IDLE));
		CHECK_EQ(sched_getscheduler(0), SCHED_IDLE);
		CHECK_EQ(stat_policy(getpid()), SCHED_IDLE);
		CHECK_EQ(syscall(SYS_ioprio_get, 2 /* IOPRIO_WHO_PGRP */, 0) >> 13, 3 /* IOPRIO_CLASS_IDLE */);
		_exit(0);
	}
	WAIT_EXIT(pid, 0);
	CHECK_OK(set(0, SCHED_OTHER));
	CHECK_EQ(stat_policy(getpid()), SCHED_OTHER);

	if (geteuid() == 0) {
		struct rlimit rl = {0, 0};
		CHECK_OK(setrlimit(RLIMIT_NICE, &rl));
		pid_t me = getpid();
		as_nobody(unprivileged, &me);
	}
	return 0;
}
