// wait_clone: a child created by clone with an exit signal other than
// SIGCHLD is a "clone" child: plain waitpid ignores it (ECHILD), __WCLONE or
// __WALL reap it, and __WCLONE does not see normal children; the chosen exit
// signal is sent to the parent when it exits.
//
//go:build ignore

#include "task_check.h"

static volatile sig_atomic_t got_usr1;
static void on_usr1(int sig, siginfo_t *si, void *uc) {
	(void)sig, (void)uc;
	got_usr1 = si->si_pid;
}

// fork-like clone (no CLONE_VM: the child gets a copy of the stack).
static pid_t clone_with_signal(int exit_signal) {
	pid_t pid = syscall(SYS_clone, (unsigned long)exit_signal, NULL, NULL, NULL, 0);
	if (pid < 0)
		FAIL("clone (errno %d %s)", errno, errname(errno));
	return pid;
}

int main(void) {
	install(SIGUSR1, on_usr1, 0);
	int ws;
	pid_t pid = clone_with_signal(0);
	if (pid == 0)
		syscall(SYS_exit_group, 5);
	CHECK_ERR(waitpid(pid, &ws, 0), ECHILD);
	CHECK_ERR(waitpid(-1, &ws, WNOHANG), ECHILD);
	ws = WAITPID(pid, __WCLONE);
	CHECK(WIFEXITED(ws) && WEXITSTATUS(ws) == 5);

	pid = clone_with_signal(SIGUSR1);
	if (pid == 0)
		syscall(SYS_exit_group, 6);
	ws = WAITPID(pid, __WALL);
	CHECK(WIFEXITED(ws) && WEXITSTATUS(ws) == 6);
	for (int i = 0; got_usr1 == 0; i++) { // may already have run
		CHECK(i < 2000);
		msleep(1);
	}
	CHECK_EQ(got_usr1, pid);

	// A normal child is invisible to __WCLONE but seen by __WALL.
	pid = XFORK();
	if (pid == 0)
		_exit(7);
	CHECK_ERR(waitpid(pid, &ws, __WCLONE), ECHILD);
	ws = WAITPID(pid, __WALL);
	CHECK(WIFEXITED(ws) && WEXITSTATUS(ws) == 7);
	return 0;
}
