// seccomp_strict: in SECCOMP_MODE_STRICT only read, write, exit and
// rt_sigreturn are allowed: writing to a pipe works and exit(2) ends the
// process normally, while any other system call (even getpid, or
// exit_group) kills it with SIGKILL.
//
//go:build ignore

#include "task_check.h"
#include <linux/seccomp.h>

int main(void) {
	int p[2];
	CHECK_OK(pipe(p));
	pid_t pid = XFORK();
	if (pid == 0) {
		if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT, 0, 0, 0) != 0)
			_exit(1);
		if (write(p[1], "ok", 2) != 2)
			syscall(SYS_exit, 2);
		syscall(SYS_getpid);
		syscall(SYS_exit, 3);
	}
	close(p[1]);
	WAIT_KILLED(pid, SIGKILL);
	char buf[4];
	CHECK_EQ(read(p[0], buf, sizeof buf), 2);
	CHECK_MEM(buf, "ok", 2);

	pid = XFORK();
	if (pid == 0) {
		if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT, 0, 0, 0) != 0)
			_exit(1);
		syscall(SYS_exit, 7);
	}
	WAIT_EXIT(pid, 7);

	pid = XFORK();
	if (pid == 0) {
		if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT, 0, 0, 0) != 0)
			_exit(1);
		syscall(SYS_exit_group, 8);
	}
	WAIT_KILLED(pid, SIGKILL);
	return 0;
}
