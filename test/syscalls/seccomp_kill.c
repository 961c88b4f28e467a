// seccomp_kill: SECCOMP_RET_KILL_PROCESS kills the whole process with
// SIGSYS when the filtered system call is made (nothing after it runs);
// SECCOMP_RET_KILL_THREAD kills only the calling thread, and the rest of the
// process carries on.
//
//go:build ignore

#include "seccomp_check.h"

static void *call_getppid(void *arg) {
	(void)arg;
	syscall(SYS_getppid);
	return (void *)1; // never
}

int main(void) {
	int p[2];
	CHECK_OK(pipe(p));
	pid_t pid = XFORK();
	if (pid == 0) {
		no_core();
		filter_one(SYS_getppid, SECCOMP_RET_KILL_PROCESS);
		CHECK_EQ(write(p[1], "a", 1), 1);
		syscall(SYS_getppid);
		(void)!write(p[1], "b", 1);
		_exit(0);
	}
	close(p[1]);
	WAIT_KILLED(pid, SIGSYS);
	char buf[4];
	CHECK_EQ(read(p[0], buf, sizeof buf), 1);
	CHECK_EQ(buf[0], 'a');

	pid = XFORK();
	if (pid == 0) {
		no_core();
		filter_one(SYS_getppid, SECCOMP_RET_KILL_THREAD);
		pthread_t t;
		CHECK_EQ(pthread_create(&t, NULL, call_getppid, NULL), 0);
		void *r = NULL;
		CHECK_EQ(pthread_join(t, &r), 0); // the kernel cleared its tid
		CHECK(r != (void *)1);
		_exit(5);
	}
	WAIT_EXIT(pid, 5);
	return 0;
}
