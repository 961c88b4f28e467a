// sig_default_core: signals whose default action is to dump core (SIGQUIT,
// SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS, SIGXCPU) kill
// the process with that signal; with core dumps disabled (RLIMIT_CORE 0 and
// not dumpable) the wait status has no core-dump bit. A blocked SIGSEGV from
// a real fault still kills.
//
//go:build ignore

#include "task_check.h"

int main(void) {
	int sigs[] = {SIGQUIT, SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS, SIGXCPU};
	for (unsigned i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
		pid_t pid = XFORK();
		if (pid == 0) {
			no_core();
			kill(getpid(), sigs[i]);
			_exit(0);
		}
		int ws = WAITPID(pid, 0);
		if (!WIFSIGNALED(ws) || WTERMSIG(ws) != sigs[i] || WCOREDUMP(ws))
			FAIL("signal %d: got %s", sigs[i], wstatus_str(ws));
	}

	pid_t pid = XFORK();
	if (pid == 0) {
		no_core();
		block(SIGSEGV, SIG_BLOCK);
		*(volatile int *)bad_addr() = 1;
		_exit(0);
	}
	int ws = WAITPID(pid, 0);
	if (!WIFSIGNALED(ws) || WTERMSIG(ws) != SIGSEGV || WCOREDUMP(ws))
		FAIL("blocked fault: got %s", wstatus_str(ws));
	return 0;
}
