// pidfd_signal: pidfd_open gives a close-on-exec descriptor for a child
// that polls readable only once the child has exited; pidfd_send_signal
// signals it (with siginfo rules: EINVAL for flags, ESRCH once reaped);
// waitid(P_PIDFD) reaps it; pidfd_open fails with ESRCH for a missing pid,
// EINVAL for unknown flags, and for a non-leader thread without
// PIDFD_THREAD.
//
//go:build ignore

#include "task_check.h"
#include <poll.h>

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

static int pidfd_open(pid_t pid, unsigned flags) { return syscall(SYS_pidfd_open, pid, flags); }
static int pidfd_send_signal(int fd, int sig, siginfo_t *si, unsigned flags) {
	return syscall(SYS_pidfd_send_signal, fd, sig, si, flags);
}

static pid_t thread_tid;
static void *thread_fn(void *arg) {
	(void)arg;
	__atomic_store_n(&thread_tid, gettid(), __ATOMIC_RELEASE);
	for (;;)
		pause();
	return NULL;
}

int main(void) {
	pid_t pid = XFORK();
	if (pid == 0) {
		for (;;)
			pause();
	}
	int fd = pidfd_open(pid, 0);
	CHECK(fd >= 0);
	CHECK_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC);
	struct pollfd p = {fd, POLLIN, 0};
	CHECK_EQ(poll(&p, 1, 0), 0); // still running
	CHECK_EQ(pidfd_send_signal(fd, 0, NULL, 0), 0);
	CHECK_ERR(pidfd_send_signal(fd, SIGTERM, NULL, 0x40000000), EINVAL);
	CHECK_ERR(pidfd_send_signal(fd, 65, NULL, 0), EINVAL);
	CHECK_EQ(pidfd_send_signal(fd, SIGTERM, NULL, 0), 0);
	CHECK_EQ(poll(&p, 1, 5000), 1);
	CHECK(p.revents & POLLIN);
	siginfo_t si;
	memset(&si, 0, sizeof si);
	CHECK_EQ(waitid(P_PIDFD, fd, &si, WEXITED), 0);
	CHECK_EQ(si.si_pid, pid);
	CHECK_EQ(si.si_code, CLD_KILLED);
	CHECK_EQ(si.si_status, SIGTERM);
	CHECK_ERR(pidfd_send_signal(fd, SIGTERM, NULL, 0), ESRCH);
	CHECK_ERR(waitid(P_PIDFD, fd, &si, WEXITED), ECHILD);
	CHECK_OK(close(fd));

	CHECK_ERR(pidfd_open(pid, 0), ESRCH); // reaped
	CHECK_ERR(pidfd_open(getpid(), 0x1234), EINVAL);
	CHECK_ERR(pidfd_open(-1, 0), EINVAL);
	fd = pidfd_open(getpid(), 0);
	CHECK(fd >= 0);
	CHECK_OK(close(fd));
	pthread_t t;
	CHECK_EQ(pthread_create(&t, NULL, thread_fn, NULL), 0);
	while (!__atomic_load_n(&thread_tid, __ATOMIC_ACQUIRE))
		msleep(1);
	CHECK_ERR(pidfd_open(thread_tid, 0), ENOENT); // not a thread-group leader
	return 0;
}
