// pgrp_setpgid: a parent may move its child into a new group and back into
// its own (same session), but not into a group that does not exist (EPERM),
// not once the child has called execve (EACCES), and not a process that is
// not its child (ESRCH); negative ids are EINVAL, unknown pids ESRCH.
//
//go:build ignore

#include "task_check.h"

int main(int argc, char **argv) {
	if (argc > 3 && strcmp(argv[2], "exec-child") == 0) {
		char c;
		CHECK_EQ(write(atoi(argv[3]), "e", 1), 1);
		(void)!read(0, &c, 1); // stdin is the hold pipe
		return 0;
	}
	pid_t mypg = getpgrp();
	pid_t gone = XFORK(); // a pid (and group) that no longer exists
	if (gone == 0)
		_exit(0);
	WAIT_EXIT(gone, 0);

	int rep[2], hold[2], go[2];
	CHECK_OK(pipe(rep));
	CHECK_OK(pipe(hold));
	CHECK_OK(pipe(go));
	pid_t pid = XFORK();
	if (pid == 0) {
		pid_t gc = XFORK(); // a grandchild: not the parent's child
		if (gc == 0) {
			char c;
			close(hold[1]);
			(void)!read(hold[0], &c, 1);
			_exit(0);
		}
		CHECK_EQ(write(rep[1], &gc, sizeof gc), sizeof gc);
		char c;
		CHECK_EQ(read(go[0], &c, 1), 1);
		CHECK_OK(dup2(hold[0], 0));
		close(hold[1]);
		char fd[16];
		snprintf(fd, sizeof fd, "%d", rep[1]);
		reexec(argv, "exec-child", fd, NULL);
	}
	pid_t gc;
	CHECK_EQ(read(rep[0], &gc, sizeof gc), sizeof gc);

	CHECK_EQ(getpgid(pid), mypg);
	CHECK_OK(setpgid(pid, pid));
	CHECK_EQ(getpgid(pid), pid);
	CHECK_EQ(getpgid(gc), mypg); // the grandchild did not move
	CHECK_OK(setpgid(pid, mypg));
	CHECK_EQ(getpgid(pid), mypg);
	CHECK_ERR(setpgid(pid, gone), EPERM);
	CHECK_ERR(setpgid(gc, gc), ESRCH);
	CHECK_ERR(setpgid(gone, gone), ESRCH);
	CHECK_ERR(setpgid(-1, 0), EINVAL);
	CHECK_ERR(setpgid(pid, -1), EINVAL);
	CHECK_ERR(getpgid(gone), ESRCH);

	CHECK_EQ(write(go[1], "g", 1), 1);
	char c;
	CHECK_EQ(read(rep[0], &c, 1), 1);
	CHECK_EQ(c, 'e');
	CHECK_ERR(setpgid(pid, pid), EACCES); // it has exec'd
	CHECK_EQ(getpgid(pid), mypg);

	close(hold[1]);
	close(hold[0]);
	WAIT_EXIT(pid, 0);
	return 0;
}
