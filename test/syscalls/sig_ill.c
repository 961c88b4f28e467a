// sig_ill: executing ud2 raises SIGILL with si_code ILL_ILLOPN and si_addr =
// RIP = the instruction's address; the handler can skip the two-byte
// instruction by advancing RIP in the ucontext. Without a handler SIGILL
// kills.
//
//go:build ignore

#include "task_check.h"
#include <ucontext.h>

extern char ud2_insn[];

__attribute__((noinline)) static int run_ud2(int v) {
	__asm__ volatile(".globl ud2_insn\n"
			 "ud2_insn: ud2\n"
			 "addl $1, %0\n"
			 : "+r"(v));
	return v;
}

static volatile int signo, code, hits;
static volatile uintptr_t addr, rip;

static void handler(int sig, siginfo_t *si, void *ucv) {
	ucontext_t *uc = ucv;
	hits++;
	signo = sig;
	code = si->si_code;
	addr = (uintptr_t)si->si_addr;
	rip = uc->uc_mcontext.gregs[REG_RIP];
	uc->uc_mcontext.gregs[REG_RIP] += 2;
}

int main(void) {
	install(SIGILL, handler, 0);
	CHECK_EQ(run_ud2(41), 42); // the add after ud2 still runs
	CHECK_EQ(hits, 1);
	CHECK_EQ(signo, SIGILL);
	CHECK_EQ(code, ILL_ILLOPN);
	CHECK_EQ(addr, (uintptr_t)ud2_insn);
	CHECK_EQ(rip, (uintptr_t)ud2_insn);
	CHECK_EQ(run_ud2(1), 2);
	CHECK_EQ(hits, 2);

	pid_t pid = XFORK();
	if (pid == 0) {
		no_core();
		signal(SIGILL, SIG_DFL);
		run_ud2(0);
		_exit(0);
	}
	WAIT_KILLED(pid, SIGILL);
	return 0;
}
