// sig_xstate_avx: signal frames hold the whole XSAVE state, not only the
// legacy SSE area. With a signal delivered while all sixteen ymm registers
// hold values, the handler finds uc_flags UC_FP_XSTATE, the fpx_sw_bytes
// magic, sizes and features after the legacy area, FP_XSTATE_MAGIC2 after
// the state, and the interrupted upper halves in the AVX component; it
// clobbers every ymm register and changes one saved upper half, and after
// sigreturn the interrupted code has its ymm registers back but for that
// one change. A child made by fork(2) inherits the whole ymm state.
// Without AVX (CPU or OS) there is nothing to check.
//
//go:build ignore

#include "task_check.h"
#include <cpuid.h>
#include <sys/wait.h>
#include <ucontext.h>

#define FP_XSTATE_MAGIC1 0x46505853u
#define FP_XSTATE_MAGIC2 0x46505845u
#define UC_FP_XSTATE 0x1
#define XFEATURE_YMM 2

struct fpx_sw_bytes {
	uint32_t magic1, extended_size;
	uint64_t xfeatures;
	uint32_t xstate_size, padding[7];
};

static uint32_t in[16][8] __attribute__((aligned(32)));
static uint32_t out[16][8] __attribute__((aligned(32)));
static uint32_t junk[8] __attribute__((aligned(32))) = {0xdeadbeef, 0xdeadbeef, 0xdeadbeef, 0xdeadbeef,
							 0xdeadbeef, 0xdeadbeef, 0xdeadbeef, 0xdeadbeef};
static unsigned ymm_offset;
static volatile int hits, flags_ok, sw_ok, magic2_ok, upper_ok;

static void handler(int sig, siginfo_t *si, void *ucv) {
	(void)sig, (void)si;
	ucontext_t *uc = ucv;
	hits++;
	flags_ok = (uc->uc_flags & UC_FP_XSTATE) != 0;
	char *fp = (char *)uc->uc_mcontext.fpregs;
	struct fpx_sw_bytes *sw = (struct fpx_sw_bytes *)(fp + 464);
	sw_ok = sw->magic1 == FP_XSTATE_MAGIC1 && (sw->xfeatures & (1 << XFEATURE_YMM)) &&
		sw->xstate_size >= ymm_offset + 256 && sw->extended_size == sw->xstate_size + 4;
	if (!sw_ok)
		return;
	uint32_t m2;
	memcpy(&m2, fp + sw->xstate_size, 4);
	magic2_ok = m2 == FP_XSTATE_MAGIC2;
	int ok = 1;
	for (int i = 0; i < 16; i++)
		ok &= memcmp(fp + ymm_offset + 16 * i, &in[i][4], 16) == 0;
	upper_ok = ok;
	memcpy(fp + ymm_offset + 16 * 5, junk, 16); // the one change that must stick
#define CLOB(n) "vmovdqa %0, %%ymm" #n "\n"
	__asm__ volatile(CLOB(0) CLOB(1) CLOB(2) CLOB(3) CLOB(4) CLOB(5) CLOB(6) CLOB(7) CLOB(8) CLOB(9)
				 CLOB(10) CLOB(11) CLOB(12) CLOB(13) CLOB(14) CLOB(15)::"m"(junk)
			 : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9",
			   "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
}

#define LD(n) "vmovdqa " #n "*32(%[in]), %%ymm" #n "\n"
#define ST(n) "vmovdqa %%ymm" #n ", " #n "*32(%[out])\n"
#define LOAD_ALL LD(0) LD(1) LD(2) LD(3) LD(4) LD(5) LD(6) LD(7) LD(8) LD(9) LD(10) LD(11) LD(12) LD(13) LD(14) LD(15)
#define STORE_ALL ST(0) ST(1) ST(2) ST(3) ST(4) ST(5) ST(6) ST(7) ST(8) ST(9) ST(10) ST(11) ST(12) ST(13) ST(14) ST(15)
#define YMM_CLOBBERS                                                                                       \
	"xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", \
		"xmm12", "xmm13", "xmm14", "xmm15"

static int have_avx(void) {
	unsigned a, b, c, d;
	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_AVX) || !(c & bit_OSXSAVE))
		return 0;
	unsigned lo, hi;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	if ((lo & 6) != 6)
		return 0;
	__cpuid_count(0xd, XFEATURE_YMM, a, b, c, d);
	ymm_offset = b;
	return 1;
}

int main(void) {
	if (!have_avx())
		return 0;
	for (int i = 0; i < 16; i++)
		for (int j = 0; j < 8; j++)
			in[i][j] = 0x01010101u * (i + 1) + 0x100 * j;

	install(SIGUSR1, handler, 0);
	long rax = SYS_tgkill;
	__asm__ volatile(LOAD_ALL "syscall\n" STORE_ALL
			 : "+a"(rax)
			 : "D"((long)getpid()), "S"((long)gettid()), "d"((long)SIGUSR1), [in] "r"(in), [out] "r"(out)
			 : "rcx", "r11", "memory", YMM_CLOBBERS);
	CHECK_EQ(rax, 0);
	CHECK_EQ(hits, 1);
	CHECK_EQ(flags_ok, 1);
	CHECK_EQ(sw_ok, 1);
	CHECK_EQ(magic2_ok, 1);
	CHECK_EQ(upper_ok, 1);
	for (int i = 0; i < 16; i++) {
		CHECK_MEM(out[i], in[i], 16);
		CHECK_MEM(&out[i][4], i == 5 ? junk : &in[i][4], 16);
	}

	// fork(2) is a system call: the child returns from it with the
	// parent's whole register state, ymm upper halves included.
	memset(out, 0, sizeof(out));
	rax = SYS_fork;
	__asm__ volatile(LOAD_ALL "syscall\n" STORE_ALL
			 : "+a"(rax)
			 : [in] "r"(in), [out] "r"(out)
			 : "rcx", "r11", "memory", YMM_CLOBBERS);
	CHECK(rax >= 0);
	if (rax == 0)
		_exit(memcmp(out, in, sizeof(in)) == 0 ? 0 : 3);
	CHECK_MEM(out, in, sizeof(in));
	int st;
	CHECK_EQ(waitpid(rax, &st, 0), rax);
	CHECK(WIFEXITED(st));
	CHECK_EQ(WEXITSTATUS(st), 0);
	return 0;
}
