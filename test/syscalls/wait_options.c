// wait_options: WNOHANG returns 0 while the child runs; waitpid picks the
// requested child out of several; waitid fills siginfo (SIGCHLD, CLD_EXITED,
// si_pid, si_uid, si_status) and with WNOWAIT leaves the child waitable;
// waitid WNOHANG with nothing ready zeroes si_pid; wait4 fills rusage;
// bad arguments: EINVAL, and ECHILD for a pid that is not a child.
//
//go:build ignore

#include "task_check.h"

int main(void) {
	int go[2];
	CHECK_OK(pipe(go));
	pid_t a = XFORK();
	if (a == 0) {
		char c;
		_exit(read(go[0], &c, 1) == 1 ? 11 : 1);
	}
	pid_t b = XFORK();
	if (b == 0) {
		// Burn some CPU so that wait4's rusage has something to show.
		volatile unsigned long x = 0;
		long long end = now_ns(CLOCK_PROCESS_CPUTIME_ID) + 30 * 1000000LL;
		while (now_ns(CLOCK_PROCESS_CPUTIME_ID) < end)
			x++;
		_exit(22);
	}
	int ws = 0;
	CHECK_EQ(waitpid(a, &ws, WNOHANG), 0);
	siginfo_t si;
	memset(&si, 0xff, sizeof si);
	CHECK_EQ(waitid(P_PID, a, &si, WEXITED | WNOHANG), 0);
	CHECK_EQ(si.si_pid, 0); // nothing ready

	struct rusage ru;
	memset(&ru, 0, sizeof ru);
	CHECK_EQ(wait4(b, &ws, 0, &ru), b);
	CHECK(WIFEXITED(ws) && WEXITSTATUS(ws) == 22);
	long long cpu = ru.ru_utime.tv_sec * 1000000LL + ru.ru_utime.tv_usec + ru.ru_stime.tv_sec * 1000000LL +
			ru.ru_stime.tv_usec;
	CHECK(cpu >= 10000); // at least 10 ms of its 30

	CHECK_EQ(write(go[1], "g", 1), 1);
	memset(&si, 0, sizeof si);
	CHECK_EQ(waitid(P_PID, a, &si, WEXITED | WNOWAIT), 0);
	CHECK_EQ(si.si_signo, SIGCHLD);
	CHECK_EQ(si.si_code, CLD_EXITED);
	CHECK_EQ(si.si_pid, a);
	CHECK_EQ(si.si_uid, getuid());
	CHECK_EQ(si.si_status, 11);
	memset(&si, 0, sizeof si);
	CHECK_EQ(waitid(P_ALL, 0, &si, WEXITED), 0); // still there after WNOWAIT
	CHECK_EQ(si.si_pid, a);
	CHECK_EQ(si.si_status, 11);
	CHECK_ERR(waitpid(a, &ws, 0), ECHILD);

	// Errors.
	CHECK_ERR(waitpid(-1, &ws, WNOHANG), ECHILD); // no children at all
	CHECK_ERR(waitid(P_ALL, 0, &si, 0), EINVAL);   // no event asked for
	CHECK_ERR(waitid((idtype_t)42, 0, &si, WEXITED), EINVAL);
	CHECK_ERR(waitpid(-1, &ws, 0x40000), EINVAL); // unknown option bit
	CHECK_ERR(waitpid(getpid(), &ws, 0), ECHILD);
	pid_t c = XFORK();
	if (c == 0)
		_exit(0);
	CHECK_ERR(waitpid(c, bad_addr(), 0), EFAULT);
	// The child may have been reaped by the failed call (Linux copies the
	// status out after reaping) or still be there.
	int r = waitpid(c, &ws, 0);
	CHECK(r == c || (r == -1 && errno == ECHILD));
	return 0;
}
