// wait_stopped: a child stopped by SIGSTOP is reported once by
// waitpid(WUNTRACED) (WIFSTOPPED, WSTOPSIG) and never without WUNTRACED;
// SIGCONT resumes it and is reported once by WCONTINUED; waitid reports the
// same events as CLD_STOPPED/CLD_CONTINUED; a stopped child still dies at
// once by SIGKILL.
//
//go:build ignore

#include "task_check.h"

int main(void) {
	int ticks[2], go[2];
	CHECK_OK(pipe(ticks));
	CHECK_OK(pipe(go));
	pid_t pid = XFORK();
	if (pid == 0) {
		close(ticks[0]);
		CHECK_OK(kill(getpid(), SIGSTOP));
		// Runs only after SIGCONT.
		CHECK_EQ(write(ticks[1], "c", 1), 1);
		// Stopping again before the parent has collected the continue
		// event would replace it, so wait for its go-ahead.
		char g;
		CHECK_EQ(read(go[0], &g, 1), 1);
		CHECK_OK(raise(SIGSTOP));
		for (;;)
			pause();
	}
	close(ticks[1]);
	int ws;
	ws = WAITPID(pid, WUNTRACED);
	CHECK(WIFSTOPPED(ws));
	CHECK_EQ(WSTOPSIG(ws), SIGSTOP);
	CHECK_EQ(waitpid(pid, &ws, WUNTRACED | WNOHANG), 0); // reported once
	CHECK_EQ(waitpid(pid, &ws, WNOHANG), 0);

	CHECK_OK(kill(pid, SIGCONT));
	ws = WAITPID(pid, WCONTINUED);
	CHECK(WIFCONTINUED(ws));
	CHECK_EQ(waitpid(pid, &ws, WCONTINUED | WNOHANG), 0);
	char c;
	CHECK_EQ(read(ticks[0], &c, 1), 1);
	CHECK_EQ(write(go[1], "g", 1), 1);

	// The second stop, seen through waitid.
	siginfo_t si;
	memset(&si, 0, sizeof si);
	CHECK_EQ(waitid(P_PID, pid, &si, WSTOPPED), 0);
	CHECK_EQ(si.si_pid, pid);
	CHECK_EQ(si.si_code, CLD_STOPPED);
	CHECK_EQ(si.si_status, SIGSTOP);
	CHECK_OK(kill(pid, SIGCONT));
	memset(&si, 0, sizeof si);
	CHECK_EQ(waitid(P_PID, pid, &si, WCONTINUED), 0);
	CHECK_EQ(si.si_code, CLD_CONTINUED);
	CHECK_EQ(si.si_status, SIGCONT);

	CHECK_OK(kill(pid, SIGSTOP));
	ws = WAITPID(pid, WUNTRACED);
	CHECK(WIFSTOPPED(ws));
	CHECK_OK(kill(pid, SIGKILL)); // no SIGCONT needed
	WAIT_KILLED(pid, SIGKILL);
	return 0;
}
