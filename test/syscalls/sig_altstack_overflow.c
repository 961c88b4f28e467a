// sig_altstack_overflow: unbounded recursion runs into the stack limit and
// raises SIGSEGV; a SA_ONSTACK handler on an alternate stack can still run
// (the normal stack is exhausted) with si_addr near the stack pointer's
// region, and leave with siglongjmp. Without an alternate stack the same
// overflow kills the process with SIGSEGV.
//
//go:build ignore

#include "task_check.h"
#include <setjmp.h>

static sigjmp_buf env;
static char alt[64 * 1024];
static volatile uintptr_t fault_addr, handler_sp;
static volatile uintptr_t deepest;
static volatile int forever = 1;

static void handler(int sig, siginfo_t *si, void *uc) {
	(void)sig, (void)uc;
	volatile int local;
	handler_sp = (uintptr_t)&local;
	fault_addr = (uintptr_t)si->si_addr;
	siglongjmp(env, 1);
}

static int recurse(int n) {
	volatile char pad[1024];
	pad[0] = (char)n;
	deepest = (uintptr_t)pad;
	return forever ? recurse(n + 1) + pad[0] : 0;
}

int main(void) {
	// Keep the overflow small and quick.
	struct rlimit r = {1 << 20, 1 << 20};
	pid_t pid = XFORK();
	if (pid == 0) {
		CHECK_OK(setrlimit(RLIMIT_STACK, &r));
		stack_t ss = {.ss_sp = alt, .ss_size = sizeof alt};
		CHECK_OK(sigaltstack(&ss, NULL));
		install(SIGSEGV, handler, SA_ONSTACK);
		uintptr_t top = (uintptr_t)&ss;
		if (sigsetjmp(env, 1) == 0) {
			recurse(0);
			_exit(2);
		}
		CHECK(handler_sp >= (uintptr_t)alt && handler_sp < (uintptr_t)alt + sizeof alt);
		CHECK(top - deepest > 512 * 1024); // it did go deep
		CHECK(top - deepest < 2 << 20);     // but not past the limit
		CHECK(fault_addr < deepest);        // the fault was just below
		CHECK(deepest - fault_addr < 64 * 1024);
		_exit(0);
	}
	WAIT_EXIT(pid, 0);

	pid = XFORK();
	if (pid == 0) {
		no_core();
		CHECK_OK(setrlimit(RLIMIT_STACK, &r));
		recurse(0);
		_exit(2);
	}
	WAIT_KILLED(pid, SIGSEGV);
	return 0;
}
