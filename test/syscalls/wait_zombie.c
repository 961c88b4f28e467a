// wait_zombie: a child that has exited stays a zombie until it is reaped:
// it still exists for kill(pid, 0), getpgid and getsid, waitid WNOWAIT sees
// it as often as asked, signalling it succeeds and changes nothing; once
// reaped its pid is gone (ESRCH, ECHILD).
//
//go:build ignore

#include "task_check.h"

int main(void) {
	pid_t pid = XFORK();
	if (pid == 0)
		_exit(9);
	siginfo_t si;
	for (int i = 0; i < 3; i++) {
		memset(&si, 0, sizeof si);
		CHECK_EQ(waitid(P_PID, pid, &si, WEXITED | WNOWAIT), 0);
		CHECK_EQ(si.si_pid, pid);
		CHECK_EQ(si.si_code, CLD_EXITED);
		CHECK_EQ(si.si_status, 9);
	}
	msleep(20);
	CHECK_EQ(kill(pid, 0), 0);
	CHECK_EQ(kill(pid, SIGKILL), 0); // a zombie cannot die twice...
	CHECK_EQ(getpgid(pid), getpgrp());
	CHECK_EQ(getsid(pid), getsid(0));
	WAIT_EXIT(pid, 9); // ...and keeps its exit status

	CHECK_ERR(kill(pid, 0), ESRCH);
	CHECK_ERR(getpgid(pid), ESRCH);
	CHECK_ERR(getsid(pid), ESRCH);
	CHECK_ERR(waitpid(pid, NULL, 0), ECHILD);
	CHECK_ERR(waitid(P_PID, pid, &si, WEXITED | WNOHANG), ECHILD);
	return 0;
}
