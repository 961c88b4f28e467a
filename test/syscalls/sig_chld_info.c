// sig_chld_info: the parent's SIGCHLD handler gets si_code CLD_EXITED
// (si_status = exit code), CLD_KILLED (si_status = signal), CLD_STOPPED and
// CLD_CONTINUED with the child's si_pid and si_uid; with SA_NOCLDSTOP, stops
// and continues send no SIGCHLD.
//
//go:build ignore

#include "task_check.h"

static volatile int n, code, status, pid_seen, uid_seen;
static void on_chld(int sig, siginfo_t *si, void *uc) {
	(void)sig, (void)uc;
	n++;
	code = si->si_code;
	status = si->si_status;
	pid_seen = si->si_pid;
	uid_seen = si->si_uid;
}

// take waits for the handler to run once more.
static void take(int before) {
	for (int i = 0; n == before; i++) {
		CHECK(i < 5000);
		msleep(1);
	}
	CHECK_EQ(n, before + 1);
}

int main(void) {
	install(SIGCHLD, on_chld, SA_RESTART);

	pid_t pid = XFORK();
	if (pid == 0)
		_exit(6);
	take(0);
	CHECK_EQ(code, CLD_EXITED);
	CHECK_EQ(status, 6);
	CHECK_EQ(pid_seen, pid);
	CHECK_EQ(uid_seen, getuid());
	WAIT_EXIT(pid, 6);

	pid = XFORK();
	if (pid == 0) {
		for (;;)
			pause();
	}
	CHECK_OK(kill(pid, SIGSTOP));
	take(1);
	CHECK_EQ(code, CLD_STOPPED);
	CHECK_EQ(status, SIGSTOP);
	CHECK_EQ(pid_seen, pid);
	CHECK_OK(kill(pid, SIGCONT));
	take(2);
	CHECK_EQ(code, CLD_CONTINUED);
	CHECK_EQ(status, SIGCONT);
	CHECK_OK(kill(pid, SIGTERM));
	take(3);
	CHECK_EQ(code, CLD_KILLED);
	CHECK_EQ(status, SIGTERM);
	WAIT_KILLED(pid, SIGTERM);

	// SA_NOCLDSTOP: only the death is reported.
	install(SIGCHLD, on_chld, SA_NOCLDSTOP | SA_RESTART);
	pid = XFORK();
	if (pid == 0) {
		for (;;)
			pause();
	}
	CHECK_OK(kill(pid, SIGSTOP));
	int ws = WAITPID(pid, WUNTRACED);
	CHECK(WIFSTOPPED(ws));
	CHECK_OK(kill(pid, SIGCONT));
	ws = WAITPID(pid, WCONTINUED);
	CHECK(WIFCONTINUED(ws));
	msleep(50);
	CHECK_EQ(n, 4); // nothing for the stop and the continue
	CHECK_OK(kill(pid, SIGKILL));
	take(4);
	CHECK_EQ(code, CLD_KILLED);
	CHECK_EQ(status, SIGKILL);
	WAIT_KILLED(pid, SIGKILL);
	msleep(20);
	CHECK_EQ(n, 5);
	return 0;
}
