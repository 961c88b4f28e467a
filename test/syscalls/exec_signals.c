// exec_signals: across execve, caught signals are reset to SIG_DFL while
// ignored ones stay ignored, the signal mask is kept, a pending blocked
// signal stays pending, and the alternate signal stack is disabled.
//
//go:build ignore

#include "task_check.h"

static void handler(int sig) { (void)sig; }

static int child(void) {
	struct sigaction sa;
	CHECK_OK(sigaction(SIGUSR1, NULL, &sa));
	CHECK(sa.sa_handler == SIG_DFL);
	CHECK_OK(sigaction(SIGUSR2, NULL, &sa));
	CHECK(sa.sa_handler == SIG_IGN);
	CHECK_OK(sigaction(SIGTERM, NULL, &sa));
	CHECK(sa.sa_handler == SIG_DFL);
	sigset_t m, p;
	CHECK_OK(sigprocmask(SIG_BLOCK, NULL, &m));
	CHECK(sigismember(&m, SIGTERM));
	CHECK(sigismember(&m, SIGRTMIN + 1));
	CHECK(!sigismember(&m, SIGUSR1));
	CHECK_OK(sigpending(&p));
	CHECK(sigismember(&p, SIGTERM)); // still pending, still blocked
	CHECK(!sigismember(&p, SIGUSR2));
	stack_t ss;
	CHECK_OK(sigaltstack(NULL, &ss));
	CHECK(ss.ss_flags & SS_DISABLE);
	// The pending SIGTERM is taken with sigtimedwait, not delivered.
	sigset_t w;
	sigemptyset(&w);
	sigaddset(&w, SIGTERM);
	struct timespec zero = {0, 0};
	CHECK_EQ(sigtimedwait(&w, NULL, &zero), SIGTERM);
	return 0;
}

int main(int argc, char **argv) {
	if (argc > 2 && strcmp(argv[2], "exec-child") == 0)
		return child();
	pid_t pid = XFORK();
	if (pid == 0) {
		CHECK(signal(SIGUSR1, handler) != SIG_ERR);
		CHECK(signal(SIGUSR2, SIG_IGN) != SIG_ERR);
		CHECK(signal(SIGTERM, handler) != SIG_ERR);
		sigset_t m;
		sigemptyset(&m);
		sigaddset(&m, SIGTERM);
		sigaddset(&m, SIGRTMIN + 1);
		CHECK_OK(sigprocmask(SIG_BLOCK, &m, NULL));
		CHECK_OK(kill(getpid(), SIGTERM));
		CHECK_OK(kill(getpid(), SIGUSR2)); // ignored: discarded
		static char alt[64 * 1024];
		stack_t ss = {.ss_sp = alt, .ss_size = sizeof alt};
		CHECK_OK(sigaltstack(&ss, NULL));
		reexec(argv, "exec-child", NULL, NULL);
	}
	WAIT_EXIT(pid, 0);
	return 0;
}
