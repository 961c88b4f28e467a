// pgrp_setsid: a child starts in its parent's session and process group;
// setsid makes it the leader of a new session and group (sid = pgid = pid)
// and fails with EPERM for a process group leader; from a new session a
// process cannot join a group of the old one (setpgid EPERM); getsid and
// getpgid read other processes' ids, ESRCH for missing ones.
//
//go:build ignore

#include "task_check.h"

int main(void) {
	pid_t psid = getsid(0), ppgid = getpgrp();
	CHECK(psid >= 0);
	int rep[2], hold[2];
	CHECK_OK(pipe(rep));
	CHECK_OK(pipe(hold));
	pid_t pid = XFORK();
	if (pid == 0) {
		pid_t me = getpid();
		if (getsid(0) != psid || getpgrp() != ppgid || getpgrp() == me)
			_exit(10);
		if (setsid() != me)
			_exit(11);
		if (getsid(0) != me || getpgrp() != me || getpgid(0) != me)
			_exit(12);
		if (setsid() != -1 || errno != EPERM) // now a group leader
			_exit(13);
		if (setpgid(0, ppgid) != -1 || errno != EPERM) // another session
			_exit(14);
		CHECK_EQ(write(rep[1], "s", 1), 1);
		char c;
		(void)!read(hold[0], &c, 1);
		_exit(0);
	}
	char c;
	CHECK_EQ(read(rep[0], &c, 1), 1);
	CHECK_EQ(getsid(pid), pid);
	CHECK_EQ(getpgid(pid), pid);
	CHECK_EQ(getsid(0), psid); // ours did not change
	CHECK_EQ(getpgrp(), ppgid);
	CHECK_ERR(setpgid(pid, ppgid), EPERM); // it is a session leader
	CHECK_EQ(write(hold[1], "x", 1), 1);
	WAIT_EXIT(pid, 0);
	CHECK_ERR(getsid(pid), ESRCH);

	// A group leader (but not session leader) cannot setsid either.
	pid = XFORK();
	if (pid == 0) {
		CHECK_OK(setpgid(0, 0));
		CHECK_EQ(getpgrp(), getpid());
		CHECK_ERR(setsid(), EPERM);
		_exit(0);
	}
	WAIT_EXIT(pid, 0);
	return 0;
}
