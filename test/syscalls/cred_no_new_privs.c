// cred_no_new_privs: PR_SET_NO_NEW_PRIVS reads back with
// PR_GET_NO_NEW_PRIVS, cannot be unset (EINVAL), takes no extra arguments
// (EINVAL), and is inherited by fork children and kept across execve.
//
//go:build ignore

#include "task_check.h"

int main(int argc, char **argv) {
	if (argc > 2 && strcmp(argv[2], "after-exec") == 0)
		return prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1 ? 0 : 1;

	// It may already be set by whatever started us: only 0 -> 1 is checked
	// when it is not.
	int initial = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
	CHECK(initial == 0 || initial == 1);
	pid_t pid = XFORK();
	if (pid == 0) {
		CHECK_EQ(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0), initial); // inherited
		CHECK_ERR(prctl(PR_SET_NO_NEW_PRIVS, 1, 1, 0, 0), EINVAL);
		if (initial == 0)
			CHECK_ERR(prctl(PR_SET_NO_NEW_PRIVS, 0, 0, 0, 0), EINVAL);
		CHECK_EQ(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
		CHECK_EQ(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0), 1);
		CHECK_ERR(prctl(PR_SET_NO_NEW_PRIVS, 0, 0, 0, 0), EINVAL); // cannot unset
		CHECK_EQ(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0), 1);
		CHECK_EQ(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0); // setting again is fine
		pid_t gc = XFORK();
		if (gc == 0)
			_exit(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1 ? 0 : 1);
		WAIT_EXIT(gc, 0);
		reexec(argv, "after-exec", NULL, NULL);
	}
	WAIT_EXIT(pid, 0);
	CHECK_EQ(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0), initial); // the parent is unaffected
	return 0;
}
