// sig_segv_accerr: a write to a read-only private mapping (a page never
// touched, and one already read) raises SIGSEGV with si_code SEGV_ACCERR,
// si_addr the exact address, trap number 14 and the write bit (2) of the
// page-fault error code in the ucontext; a read of a PROT_NONE page is
// SEGV_ACCERR without the write bit; a jump into a page without PROT_EXEC
// is SEGV_ACCERR at the jump's target with the instruction-fetch bit (16).
// (sig_segv_info covers faults on addresses with no mapping.)
//
//go:build ignore

#include "task_check.h"
#include <setjmp.h>
#include <ucontext.h>

static sigjmp_buf env;
static volatile uintptr_t addr;
static volatile int code, signo, trapno, err;

static void handler(int sig, siginfo_t *si, void *ucv) {
	ucontext_t *uc = ucv;
	signo = sig;
	code = si->si_code;
	addr = (uintptr_t)si->si_addr;
	trapno = uc->uc_mcontext.gregs[REG_TRAPNO];
	err = uc->uc_mcontext.gregs[REG_ERR];
	siglongjmp(env, 1);
}

#define EXPECT_FAULT(access, want_addr, what)                              \
	do {                                                               \
		signo = code = trapno = err = 0;                           \
		if (sigsetjmp(env, 1) == 0) {                              \
			access;                                            \
			FAIL(what " did not fault");                       \
		}                                                          \
		CHECK_EQ(signo, SIGSEGV);                                  \
		CHECK_EQ(code, SEGV_ACCERR);                               \
		CHECK_EQ(addr, (uintptr_t)(want_addr));                    \
		CHECK_EQ(trapno, 14);                                      \
		CHECK(err & 4); /* from user mode */                       \
	} while (0)

int main(void) {
	long pg = page_size();
	install(SIGSEGV, handler, 0);
	char *m = mmap(NULL, 3 * pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(m != MAP_FAILED);

	// Never touched.
	EXPECT_FAULT(*(volatile char *)(m + 5) = 1, m + 5, "writing an untouched read-only page");
	CHECK(err & 2);
	CHECK(!(err & 16));

	// Read first, then written.
	CHECK_EQ(*(volatile char *)(m + pg + 1), 0);
	EXPECT_FAULT(*(volatile char *)(m + pg + 77) = 1, m + pg + 77, "writing a read-only page");
	CHECK(err & 2);
	CHECK(err & 1); // the page was present

	// Reading PROT_NONE.
	CHECK_OK(mprotect(m + 2 * pg, pg, PROT_NONE));
	EXPECT_FAULT((void)*(volatile char *)(m + 2 * pg + 3), m + 2 * pg + 3, "reading a PROT_NONE page");
	CHECK(!(err & 2));

	// Fetching from a page without PROT_EXEC (a RET, had it run).
	char *data = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(data != MAP_FAILED);
	data[0] = (char)0xc3;
	EXPECT_FAULT(((void (*)(void))data)(), data, "running a page without PROT_EXEC");
	CHECK(err & 16);
	CHECK(!(err & 2));

	// The mapping is unchanged by the attempts.
	CHECK_FILL(m, 0, 2 * pg);
	return 0;
}
