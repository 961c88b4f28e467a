// sig_default_term: signals whose default action is to terminate (SIGTERM,
// SIGUSR1, SIGHUP, SIGALRM, SIGPIPE on a write to a pipe without readers, a
// real-time signal) kill the process: the parent sees WIFSIGNALED with that
// signal and no core-dump bit; SIGKILL cannot be caught, ignored or blocked.
//
//go:build ignore

#include "task_check.h"

static void handler(int sig) { (void)sig; }

static void check_term(int sig) {
	pid_t pid = XFORK();
	if (pid == 0) {
		// The default action, whatever the runner left us (nohup
		// ignores SIGHUP, and ignored signals stay ignored across exec).
		signal(sig, SIG_DFL);
		sigset_t set;
		sigemptyset(&set);
		sigaddset(&set, sig);
		sigprocmask(SIG_UNBLOCK, &set, NULL);
		kill(getpid(), sig);
		_exit(0);
	}
	int ws = WAITPID(pid, 0);
	if (!WIFSIGNALED(ws) || WTERMSIG(ws) != sig || WCOREDUMP(ws))
		FAIL("signal %d: got %s", sig, wstatus_str(ws));
}

int main(void) {
	int sigs[] = {SIGTERM, SIGUSR1, SIGHUP, SIGALRM, SIGINT, SIGRTMIN + 2};
	for (unsigned i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		check_term(sigs[i]);

	pid_t pid = XFORK();
	if (pid == 0) {
		int p[2];
		CHECK_OK(pipe(p));
		close(p[0]);
		(void)!write(p[1], "x", 1);
		_exit(0);
	}
	WAIT_KILLED(pid, SIGPIPE);

	// SIGKILL: no handler, no ignoring, no blocking.
	struct sigaction sa = {.sa_handler = handler};
	CHECK_ERR(sigaction(SIGKILL, &sa, NULL), EINVAL);
	sa.sa_handler = SIG_IGN;
	CHECK_ERR(sigaction(SIGKILL, &sa, NULL), EINVAL);
	CHECK_ERR(sigaction(SIGSTOP, &sa, NULL), EINVAL);
	pid = XFORK();
	if (pid == 0) {
		sigset_t all;
		sigfillset(&all);
		sigprocmask(SIG_BLOCK, &all, NULL);
		kill(getpid(), SIGKILL);
		_exit(0);
	}
	WAIT_KILLED(pid, SIGKILL);
	return 0;
}
