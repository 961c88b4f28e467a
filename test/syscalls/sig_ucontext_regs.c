// sig_ucontext_regs: a handler's ucontext holds the interrupted general
// registers (rbx, r12-r15 as set just before the signal, rax = the
// syscall's return value), and sigreturn loads whatever the handler leaves
// there: changed rbx, r13 and rax values appear in the interrupted code.
// uc_sigmask is the mask to restore, and changing it changes the mask.
//
//go:build ignore

#include "task_check.h"
#include <ucontext.h>

static volatile long seen[6];
static volatile int hits, mask_had_usr2;

static void handler(int sig, siginfo_t *si, void *ucv) {
	(void)sig, (void)si;
	ucontext_t *uc = ucv;
	greg_t *g = uc->uc_mcontext.gregs;
	hits++;
	seen[0] = g[REG_RBX];
	seen[1] = g[REG_R12];
	seen[2] = g[REG_R13];
	seen[3] = g[REG_R14];
	seen[4] = g[REG_R15];
	seen[5] = g[REG_RAX];
	g[REG_RBX] = 0xb0b0;
	g[REG_R13] = 0x13131313;
	g[REG_RAX] = 99;
	mask_had_usr2 = sigismember(&uc->uc_sigmask, SIGUSR2);
	sigaddset(&uc->uc_sigmask, SIGWINCH); // blocked after the return
}

int main(void) {
	install(SIGUSR1, handler, 0);
	block(SIGUSR2, SIG_BLOCK);
	long out[5];
	long rax = SYS_tgkill;
	__asm__ volatile("mov $0x1111, %%rbx\n"
			 "mov $0x1212, %%r12\n"
			 "mov $0x1313, %%r13\n"
			 "mov $0x1414, %%r14\n"
			 "mov $0x1515, %%r15\n"
			 "syscall\n"
			 "mov %%rbx, 0(%[out])\n"
			 "mov %%r12, 8(%[out])\n"
			 "mov %%r13, 16(%[out])\n"
			 "mov %%r14, 24(%[out])\n"
			 "mov %%r15, 32(%[out])\n"
			 : "+a"(rax)
			 : "D"((long)getpid()), "S"((long)gettid()), "d"((long)SIGUSR1), [out] "r"(out)
			 : "rcx", "r11", "rbx", "r12", "r13", "r14", "r15", "memory");
	CHECK_EQ(hits, 1);
	CHECK_EQ(seen[0], 0x1111);
	CHECK_EQ(seen[1], 0x1212);
	CHECK_EQ(seen[2], 0x1313);
	CHECK_EQ(seen[3], 0x1414);
	CHECK_EQ(seen[4], 0x1515);
	CHECK_EQ(seen[5], 0); // tgkill's return value
	CHECK_EQ(rax, 99);
	CHECK_EQ(out[0], 0xb0b0);
	CHECK_EQ(out[1], 0x1212);
	CHECK_EQ(out[2], 0x13131313);
	CHECK_EQ(out[3], 0x1414);
	CHECK_EQ(out[4], 0x1515);
	CHECK_EQ(mask_had_usr2, 1);
	sigset_t m;
	CHECK_OK(sigprocmask(SIG_BLOCK, NULL, &m));
	CHECK(sigismember(&m, SIGWINCH));
	CHECK(sigismember(&m, SIGUSR2));
	CHECK(!sigismember(&m, SIGUSR1));
	return 0;
}
