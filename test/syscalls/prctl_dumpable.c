// prctl_dumpable: PR_GET_DUMPABLE is 1 for a normal process, PR_SET_DUMPABLE
// accepts only 0 and 1 (EINVAL for 2 and others); the flag is inherited by
// fork and reset to 1 by execve of a normal program.
//
//go:build ignore

#include "task_check.h"

int main(int argc, char **argv) {
	if (argc > 2 && strcmp(argv[2], "after-exec") == 0)
		return prctl(PR_GET_DUMPABLE) == 1 ? 0 : 1;

	CHECK_EQ(prctl(PR_GET_DUMPABLE), 1);
	CHECK_ERR(prctl(PR_SET_DUMPABLE, 2), EINVAL);
	CHECK_ERR(prctl(PR_SET_DUMPABLE, 3), EINVAL);
	CHECK_EQ(prctl(PR_GET_DUMPABLE), 1);
	pid_t pid = XFORK();
	if (pid == 0) {
		CHECK_OK(prctl(PR_SET_DUMPABLE, 0));
		CHECK_EQ(prctl(PR_GET_DUMPABLE), 0);
		pid_t gc = XFORK();
		if (gc == 0)
			_exit(prctl(PR_GET_DUMPABLE) == 0 ? 0 : 1);
		WAIT_EXIT(gc, 0);
		reexec(argv, "after-exec", NULL, NULL);
	}
	WAIT_EXIT(pid, 0);
	CHECK_EQ(prctl(PR_GET_DUMPABLE), 1);
	return 0;
}
