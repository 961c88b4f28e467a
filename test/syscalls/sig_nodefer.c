// sig_nodefer: while a handler runs its own signal is blocked, so raising it
// again from inside is deferred until the handler returns (no nesting), and
// the mask is restored by sigreturn; with SA_NODEFER the same raise nests a
// second handler invocation inside the first.
//
//go:build ignore

#include "task_check.h"

static volatile int depth, max_depth, calls;
static volatile char log_[16];
static volatile int logn;

static void handler(int sig, siginfo_t *si, void *uc) {
	(void)si, (void)uc;
	calls++;
	depth++;
	if (depth > max_depth)
		max_depth = depth;
	log_[logn++] = '(';
	if (calls == 1)
		raise(sig);
	log_[logn++] = ')';
	depth--;
}

int main(void) {
	install(SIGUSR1, handler, 0);
	CHECK_OK(raise(SIGUSR1));
	CHECK_EQ(calls, 2);
	CHECK_EQ(max_depth, 1);
	CHECK(strcmp((const char *)log_, "()()") == 0);
	sigset_t m;
	CHECK_OK(sigprocmask(SIG_BLOCK, NULL, &m));
	CHECK(!sigismember(&m, SIGUSR1)); // restored by sigreturn

	calls = max_depth = logn = 0;
	memset((char *)log_, 0, sizeof log_);
	install(SIGUSR1, handler, SA_NODEFER);
	CHECK_OK(raise(SIGUSR1));
	CHECK_EQ(calls, 2);
	CHECK_EQ(max_depth, 2);
	CHECK(strcmp((const char *)log_, "(())") == 0);
	return 0;
}
