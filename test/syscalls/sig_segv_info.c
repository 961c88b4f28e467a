// sig_segv_info: a SIGSEGV handler for a bad access gets si_addr = the exact
// faulting address and si_code SEGV_MAPERR (nothing mapped) or SEGV_ACCERR
// (mapped but protected), and a ucontext with trap number 14 and the write
// bit of the page-fault error code; a handler that fixes the protection and
// returns makes the access run again and succeed.
//
//go:build ignore

#include "task_check.h"
#include <setjmp.h>
#include <ucontext.h>

static sigjmp_buf env;
static volatile uintptr_t addr;
static volatile int code, signo, trapno, err, fixes;
static char *fix_page;

static void handler(int sig, siginfo_t *si, void *ucv) {
	ucontext_t *uc = ucv;
	signo = sig;
	code = si->si_code;
	addr = (uintptr_t)si->si_addr;
	trapno = uc->uc_mcontext.gregs[REG_TRAPNO];
	err = uc->uc_mcontext.gregs[REG_ERR];
	if (fix_page && (uintptr_t)si->si_addr - (uintptr_t)fix_page < (uintptr_t)page_size()) {
		fixes++;
		mprotect(fix_page, page_size(), PROT_READ | PROT_WRITE);
		return; // retry the access
	}
	siglongjmp(env, 1);
}

int main(void) {
	long pg = page_size();
	install(SIGSEGV, handler, 0);
	char *m = mmap(NULL, 3 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(m != MAP_FAILED);
	CHECK_OK(munmap(m + pg, pg));            // a hole
	CHECK_OK(mprotect(m + 2 * pg, pg, PROT_READ)); // read-only

	if (sigsetjmp(env, 1) == 0) {
		*(volatile char *)(m + pg + 123) = 1;
		FAIL("writing into a hole did not fault");
	}
	CHECK_EQ(signo, SIGSEGV);
	CHECK_EQ(code, SEGV_MAPERR);
	CHECK_EQ(addr, (uintptr_t)(m + pg + 123));
	CHECK_EQ(trapno, 14);
	CHECK(err & 2); // a write

	if (sigsetjmp(env, 1) == 0) {
		(void)*(volatile char *)(m + pg + 7);
		FAIL("reading a hole did not fault");
	}
	CHECK_EQ(code, SEGV_MAPERR);
	CHECK_EQ(addr, (uintptr_t)(m + pg + 7));
	CHECK(!(err & 2)); // a read

	if (sigsetjmp(env, 1) == 0) {
		*(volatile char *)(m + 2 * pg + 9) = 1;
		FAIL("writing a read-only page did not fault");
	}
	CHECK_EQ(code, SEGV_ACCERR);
	CHECK_EQ(addr, (uintptr_t)(m + 2 * pg + 9));
	CHECK(err & 2);

	// The signal mask was restored by siglongjmp(…, 1): faults keep coming.
	fix_page = m + 2 * pg;
	*(volatile char *)(m + 2 * pg + 100) = 42;
	CHECK_EQ(fixes, 1);
	CHECK_EQ(m[2 * pg + 100], 42);
	CHECK_EQ(code, SEGV_ACCERR);
	CHECK_EQ(addr, (uintptr_t)(m + 2 * pg + 100));
	return 0;
}
