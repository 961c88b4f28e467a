// sig_fpe: an integer division by zero (and INT_MIN / -1) raises SIGFPE with
// si_code FPE_INTDIV and si_addr = the address of the dividing instruction,
// which is also the RIP in the handler's ucontext; a handler that moves RIP
// past the instruction and sets RAX resumes there with that "quotient".
//
//go:build ignore

#include "task_check.h"
#include <limits.h>
#include <ucontext.h>

extern char div_insn[], div_after[];

__attribute__((noinline)) static int divide(int a, int b) {
	int q;
	__asm__ volatile("cltd\n"
			 ".globl div_insn\n"
			 "div_insn: idivl %[b]\n"
			 ".globl div_after\n"
			 "div_after:\n"
			 : "=a"(q)
			 : "a"(a), [b] "r"(b)
			 : "rdx", "cc");
	return q;
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
	uc->uc_mcontext.gregs[REG_RIP] = (greg_t)div_after;
	uc->uc_mcontext.gregs[REG_RAX] = 777;
}

int main(void) {
	install(SIGFPE, handler, 0);
	CHECK_EQ(divide(42, 5), 8);
	CHECK_EQ(hits, 0);

	CHECK_EQ(divide(42, (int)opaque(0)), 777);
	CHECK_EQ(hits, 1);
	CHECK_EQ(signo, SIGFPE);
	CHECK_EQ(code, FPE_INTDIV);
	CHECK_EQ(addr, (uintptr_t)div_insn);
	CHECK_EQ(rip, (uintptr_t)div_insn);

	CHECK_EQ(divide(INT_MIN, (int)opaque(-1)), 777);
	CHECK_EQ(hits, 2);
	CHECK_EQ(code, FPE_INTDIV);
	CHECK_EQ(addr, (uintptr_t)div_insn);
	CHECK_EQ(divide(-9, 3), -3);
	return 0;
}
