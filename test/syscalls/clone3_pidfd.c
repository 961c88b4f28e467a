// clone3_pidfd: clone3 with CLONE_PIDFD creates a child and returns a
// close-on-exec pidfd for it (and its pid through parent_tid with
// CLONE_PARENT_SETTID); the pidfd waits for and signals that child; clone3
// rejects a too-small argument struct, an exit signal above 64, CLONE_PIDFD
// with CLONE_DETACHED, CLONE_THREAD without CLONE_SIGHAND, a bad pointer.
//
//go:build ignore

#include "task_check.h"
#include <linux/sched.h>

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

static long clone3(struct clone_args *a, size_t size) { return syscall(SYS_clone3, a, size); }

int main(void) {
	int pidfd = -1;
	pid_t ptid = 0;
	struct clone_args a;
	memset(&a, 0, sizeof a);
	a.flags = CLONE_PIDFD | CLONE_PARENT_SETTID;
	a.pidfd = (uintptr_t)&pidfd;
	a.parent_tid = (uintptr_t)&ptid;
	a.exit_signal = SIGCHLD;
	long pid = clone3(&a, sizeof a);
	if (pid == 0) {
		// A copy of our memory (no CLONE_VM): block until killed.
		for (;;)
			pause();
	}
	CHECK(pid > 0);
	CHECK_EQ(ptid, pid);
	CHECK(pidfd >= 0);
	CHECK_EQ(fcntl(pidfd, F_GETFD), FD_CLOEXEC);
	CHECK_EQ(syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0), 0);
	siginfo_t si;
	memset(&si, 0, sizeof si);
	CHECK_EQ(waitid(P_PIDFD, pidfd, &si, WEXITED), 0);
	CHECK_EQ(si.si_pid, pid);
	CHECK_EQ(si.si_code, CLD_KILLED);
	CHECK_EQ(si.si_status, SIGKILL);

	// A plain clone3 child, reaped by pid.
	memset(&a, 0, sizeof a);
	a.exit_signal = SIGCHLD;
	pid = clone3(&a, CLONE_ARGS_SIZE_VER0);
	if (pid == 0)
		syscall(SYS_exit_group, 12);
	CHECK(pid > 0);
	WAIT_EXIT((pid_t)pid, 12);

	// Bad arguments.
	memset(&a, 0, sizeof a);
	a.exit_signal = SIGCHLD;
	CHECK_ERR(clone3(&a, CLONE_ARGS_SIZE_VER0 - 8), EINVAL);
	a.exit_signal = 65;
	CHECK_ERR(clone3(&a, sizeof a), EINVAL);
	a.exit_signal = SIGCHLD;
	a.flags = CLONE_PIDFD | CLONE_DETACHED;
	a.pidfd = (uintptr_t)&pidfd;
	CHECK_ERR(clone3(&a, sizeof a), EINVAL);
	a.flags = CLONE_THREAD; // a thread needs CLONE_SIGHAND and CLONE_VM
	CHECK_ERR(clone3(&a, sizeof a), EINVAL);
	CHECK_ERR(clone3(bad_addr(), sizeof a), EFAULT);
	CHECK_ERR(wait(NULL), ECHILD);
	return 0;
}
