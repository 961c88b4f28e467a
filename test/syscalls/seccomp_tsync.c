// seccomp_tsync: SECCOMP_FILTER_FLAG_TSYNC puts the caller's filters on
// every other thread of its process, which then sees them from its next
// system call on and gets the caller's no_new_privs; a thread whose
// filters are not the caller's ancestors makes the call fail, changing
// nothing: it returns that thread's ID, or ESRCH with
// SECCOMP_FILTER_FLAG_TSYNC_ESRCH.
//
//go:build ignore

#include "seccomp_check.h"
#include <pthread.h>

#ifndef SECCOMP_FILTER_FLAG_TSYNC_ESRCH
#define SECCOMP_FILTER_FLAG_TSYNC_ESRCH (1UL << 4)
#endif

// The other thread: it waits for a step number, does that step, reports.
static volatile int step, done;
static volatile pid_t other_tid;
// getsid(0) before any filter. It is 0 where the session's leader lies
// outside our PID namespace (as in some CI containers), so the test
// compares against it instead of expecting a positive ID.
static long session;

static void *other(void *arg) {
	(void)arg;
	other_tid = (pid_t)syscall(SYS_gettid);
	for (int s = 1;; s++) {
		while (step < s)
			sched_yield();
		switch (s) {
		case 1: // after the caller's TSYNC: its filter and no_new_privs
			CHECK_ERR(syscall(SYS_getppid), EXDEV);
			CHECK_EQ(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0), 1);
			CHECK_EQ(prctl(PR_GET_SECCOMP, 0, 0, 0, 0), 2);
			break;
		case 2: // a filter of its own, which the caller's do not extend
			CHECK_OK(filter_errno(SYS_getpgrp, EXDEV, 0));
			break;
		case 3: // the caller's failed TSYNCs changed nothing here
			CHECK_ERR(syscall(SYS_getpgrp), EXDEV);
			CHECK_EQ(syscall(SYS_getsid, 0), session);
			return NULL;
		}
		done = s;
	}
}

static void run_step(int s) {
	step = s;
	while (done < s)
		sched_yield();
}

int main(void) {
	alarm(30);
	pid_t pid = XFORK();
	if (pid == 0) {
		session = syscall(SYS_getsid, 0);
		CHECK(session >= 0);
		pthread_t th;
		CHECK_EQ(pthread_create(&th, NULL, other, NULL), 0);
		while (other_tid == 0)
			sched_yield();
		CHECK_OK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
		CHECK_OK(filter_errno(SYS_getppid, EXDEV, SECCOMP_FILTER_FLAG_TSYNC));
		CHECK_ERR(syscall(SYS_getppid), EXDEV);
		run_step(1);
		run_step(2);
		CHECK_EQ(filter_errno(SYS_getsid, EXDEV, SECCOMP_FILTER_FLAG_TSYNC), other_tid);
		CHECK_ERR(filter_errno(SYS_getsid, EXDEV, SECCOMP_FILTER_FLAG_TSYNC | SECCOMP_FILTER_FLAG_TSYNC_ESRCH),
			  ESRCH);
		CHECK_EQ(syscall(SYS_getsid, 0), session);
		step = 3;
		CHECK_EQ(pthread_join(th, NULL), 0);
		_exit(0);
	}
	WAIT_EXIT(pid, 0);
	return 0;
}
