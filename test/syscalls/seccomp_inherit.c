// seccomp_inherit: seccomp filters are inherited by fork children and kept
// across execve; filters stack: for equal actions the newest filter's data
// wins, a later RET_ALLOW cannot undo an earlier RET_ERRNO, and the most
// severe action wins; SECCOMP_GET_ACTION_AVAIL knows the actions.
//
//go:build ignore

#include "seccomp_check.h"

int main(int argc, char **argv) {
	if (argc > 2 && strcmp(argv[2], "after-exec") == 0) {
		CHECK_EQ(prctl(PR_GET_SECCOMP, 0, 0, 0, 0), 2);
		CHECK_EQ(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0), 1);
		CHECK_ERR(syscall(SYS_getppid), EPIPE);
		return 0;
	}
	unsigned act = SECCOMP_RET_KILL_PROCESS;
	CHECK_EQ(syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &act), 0);
	act = SECCOMP_RET_ERRNO;
	CHECK_EQ(syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &act), 0);
	act = 0x7ff10000;
	CHECK_ERR(syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &act), EOPNOTSUPP);

	pid_t pid = XFORK();
	if (pid == 0) {
		filter_one(SYS_getppid, SECCOMP_RET_ERRNO | EXDEV);
		CHECK_ERR(syscall(SYS_getppid), EXDEV);
		filter_one(SYS_getppid, SECCOMP_RET_ERRNO | EPIPE); // newest wins
		CHECK_ERR(syscall(SYS_getppid), EPIPE);
		filter_one(SYS_getppid, SECCOMP_RET_ALLOW);         // cannot undo
		CHECK_ERR(syscall(SYS_getppid), EPIPE);
		filter_one(SYS_getpgid, SECCOMP_RET_ERRNO | EXDEV);
		filter_one(SYS_getpgid, SECCOMP_RET_TRAP);          // TRAP beats ERRNO...
		filter_one(SYS_getpgid, SECCOMP_RET_KILL_PROCESS); // ...KILL beats TRAP
		pid_t gc = XFORK();
		if (gc == 0) {
			if (syscall(SYS_getppid) != -1 || errno != EPIPE)
				_exit(1);
			no_core();
			syscall(SYS_getpgid, 0);
			_exit(2);
		}
		WAIT_KILLED(gc, SIGSYS);
		reexec(argv, "after-exec", NULL, NULL);
	}
	WAIT_EXIT(pid, 0);
	return 0;
}
