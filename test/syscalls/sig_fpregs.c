// sig_fpregs: the FP/SSE state survives a signal handler: the handler
// starts with a clean state (MXCSR 0x1f80), sees the interrupted xmm
// registers and MXCSR in uc_mcontext.fpregs, clobbers all sixteen xmm
// registers and MXCSR, and after sigreturn the interrupted code has its own
// values back, except the one the handler changed in the saved state.
//
//go:build ignore

#include "task_check.h"
#include <ucontext.h>

static uint32_t in[16][4] __attribute__((aligned(16)));
static uint32_t out[16][4] __attribute__((aligned(16)));
static uint32_t junk[4] __attribute__((aligned(16))) = {0xdeadbeef, 0xdeadbeef, 0xdeadbeef, 0xdeadbeef};
static volatile int hits, saved_ok, handler_mxcsr, saved_mxcsr;

static void handler(int sig, siginfo_t *si, void *ucv) {
	(void)sig, (void)si;
	ucontext_t *uc = ucv;
	hits++;
	uint32_t m;
	__asm__ volatile("stmxcsr %0" : "=m"(m));
	handler_mxcsr = m;
	fpregset_t fp = uc->uc_mcontext.fpregs;
	int ok = fp != NULL;
	for (int i = 0; ok && i < 16; i++)
		ok = memcmp(&fp->_xmm[i], in[i], 16) == 0;
	saved_ok = ok;
	saved_mxcsr = fp ? fp->mxcsr : 0;
	if (fp)
		memcpy(&fp->_xmm[5], junk, 16); // the one change that must stick
	uint32_t z = 0x1f80 | (1 << 13);     // round down
	__asm__ volatile("ldmxcsr %0" ::"m"(z));
#define CLOB(n) "movdqa %0, %%xmm" #n "\n"
	__asm__ volatile(CLOB(0) CLOB(1) CLOB(2) CLOB(3) CLOB(4) CLOB(5) CLOB(6) CLOB(7) CLOB(8) CLOB(9)
				 CLOB(10) CLOB(11) CLOB(12) CLOB(13) CLOB(14) CLOB(15)::"m"(junk)
			 : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",
			   "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
}

int main(void) {
	install(SIGUSR1, handler, 0);
	for (int i = 0; i < 16; i++)
		for (int j = 0; j < 4; j++)
			in[i][j] = 0x01010101u * (i + 1) + j;
	uint32_t mx = 0x1f80 | (3 << 13), mx_after = 0; // round toward zero
	long rax = SYS_tgkill;
#define LD(n) "movdqa " #n "*16(%[in]), %%xmm" #n "\n"
#define ST(n) "movdqa %%xmm" #n ", " #n "*16(%[out])\n"
	__asm__ volatile("ldmxcsr %[mx]\n" LD(0) LD(1) LD(2) LD(3) LD(4) LD(5) LD(6) LD(7) LD(8) LD(9) LD(10)
			     LD(11) LD(12) LD(13) LD(14) LD(15) "syscall\n" ST(0) ST(1) ST(2) ST(3) ST(4) ST(5)
				 ST(6) ST(7) ST(8) ST(9) ST(10) ST(11) ST(12) ST(13) ST(14) ST(15) "stmxcsr %[mxa]\n"
			 : "+a"(rax), [mxa] "=m"(mx_after)
			 : "D"((long)getpid()), "S"((long)gettid()), "d"((long)SIGUSR1), [in] "r"(in),
			   [out] "r"(out), [mx] "m"(mx)
			 : "rcx", "r11", "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7",
			   "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
	uint32_t dflt = 0x1f80;
	__asm__ volatile("ldmxcsr %0" ::"m"(dflt));
	CHECK_EQ(rax, 0);
	CHECK_EQ(hits, 1);
	CHECK_EQ(handler_mxcsr, 0x1f80);
	CHECK_EQ(saved_ok, 1);
	CHECK_EQ(saved_mxcsr, mx);
	CHECK_EQ(mx_after, mx);
	for (int i = 0; i < 16; i++)
		CHECK_MEM(out[i], i == 5 ? junk : in[i], 16);
	return 0;
}
