// thread_exit_codes: exit(2) (SYS_exit) ends only the calling thread: a
// thread's own code is not the process's status, the process lives on after
// its leader called SYS_exit, the status is the code of the last thread to
// leave, exit_group's code wins over everything, and only its low 8 bits
// survive.
//
//go:build ignore

#include "task_check.h"

static void *group_exit(void *arg) {
	msleep(30);
	syscall(SYS_exit_group, (long)arg);
	return NULL;
}

static void *thread_exit(void *arg) {
	syscall(SYS_exit, (long)arg);
	return NULL;
}

int main(void) {
	// A thread leaves with 9, then the leader with 3: status 3.
	pid_t pid = XFORK();
	if (pid == 0) {
		pthread_t t;
		CHECK_EQ(pthread_create(&t, NULL, thread_exit, (void *)9), 0);
		CHECK_EQ(pthread_join(t, NULL), 0);
		syscall(SYS_exit, 3);
		_exit(30);
	}
	WAIT_EXIT(pid, 3);

	// The leader leaves first; the process goes on and a thread's
	// exit_group decides the status.
	pid = XFORK();
	if (pid == 0) {
		pthread_t t;
		CHECK_EQ(pthread_create(&t, NULL, group_exit, (void *)5), 0);
		syscall(SYS_exit, 3);
		_exit(31);
	}
	WAIT_EXIT(pid, 5);

	// exit_group from a thread while the leader sleeps.
	pid = XFORK();
	if (pid == 0) {
		pthread_t t;
		CHECK_EQ(pthread_create(&t, NULL, group_exit, (void *)42), 0);
		for (;;)
			pause();
	}
	WAIT_EXIT(pid, 42);

	// Only the low 8 bits of an exit code survive.
	pid = XFORK();
	if (pid == 0) {
		pthread_t t;
		CHECK_EQ(pthread_create(&t, NULL, group_exit, (void *)(256 + 4)), 0);
		for (;;)
			pause();
	}
	WAIT_EXIT(pid, 4);
	return 0;
}
