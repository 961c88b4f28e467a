// sig_trap: int3 raises SIGTRAP with si_code SI_KERNEL; the handler's RIP
// points just past the one-byte int3 (it is a trap, not a fault), so
// returning continues with the next instruction. Without a handler SIGTRAP
// kills.
//
//go:build ignore

#include "task_check.h"
#include <ucontext.h>

extern char int3_insn[], int3_after[];

__attribute__((noinline)) static int run_int3(int v) {
	__asm__ volatile(".globl int3_insn\n"
			 "int3_insn: int3\n"
			 ".globl int3_after\n"
			 "int3_after: addl $1, %0\n"
			 : "+r"(v));
	return v;
}

static volatile int signo, code, hits;
static volatile uintptr_t rip;

static void handler(int sig, siginfo_t *si, void *ucv) {
	ucontext_t *uc = ucv;
	hits++;
	signo = sig;
	code = si->si_code;
	rip = uc->uc_mcontext.gregs[REG_RIP];
}

int main(void) {
	install(SIGTRAP, handler, 0);
	CHECK_EQ(run_int3(9), 10);
	CHECK_EQ(hits, 1);
	CHECK_EQ(signo, SIGTRAP);
	CHECK_EQ(code, SI_KERNEL);
	CHECK_EQ(rip, (uintptr_t)int3_after);
	CHECK_EQ((uintptr_t)int3_after - (uintptr_t)int3_insn, 1);

	pid_t pid = XFORK();
	if (pid == 0) {
		no_core();
		signal(SIGTRAP, SIG_DFL);
		run_int3(0);
		_exit(0);
	}
	WAIT_KILLED(pid, SIGTRAP);
	return 0;
}
