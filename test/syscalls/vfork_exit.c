// vfork_exit: vfork suspends the parent until the child calls _exit or
// execve; the child runs in the parent's memory (its writes are seen) with
// its own pid; the parent then reaps it with its _exit code, or with the
// status of the program it executed.
//
//go:build ignore

#include "task_check.h"

static volatile int written;
static volatile pid_t child_pid, child_ppid;
static volatile int parent_ran;

int main(int argc, char **argv) {
	if (argc > 2 && strcmp(argv[2], "exit-with") == 0)
		return atoi(argv[3]);

	pid_t me = getpid();
	pid_t pid = vfork();
	if (pid == 0) {
		// The parent is suspended: spin a while, it must not run.
		long long end = now_ns(CLOCK_MONOTONIC) + 50 * 1000000LL;
		while (now_ns(CLOCK_MONOTONIC) < end)
			;
		written = parent_ran ? -1 : 1234;
		child_pid = getpid();
		child_ppid = getppid();
		_exit(3);
	}
	parent_ran = 1;
	CHECK(pid > 0);
	CHECK_EQ(written, 1234);
	CHECK_EQ(child_pid, pid);
	CHECK(child_pid != me);
	CHECK_EQ(child_ppid, me);
	WAIT_EXIT(pid, 3);

	// vfork + execve: the parent resumes once the exec has happened.
	char *args[] = {argv[0], argv[1], "exit-with", "4", NULL};
	written = 0;
	pid = vfork();
	if (pid == 0) {
		written = 1;
		execv(argv[0], args);
		_exit(127);
	}
	CHECK_EQ(written, 1);
	WAIT_EXIT(pid, 4);
	return 0;
}
