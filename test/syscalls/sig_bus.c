// sig_bus: touching a page of a file mapping that lies wholly past the end
// of the file raises SIGBUS with si_code BUS_ADRERR and si_addr the exact
// address; the part of the mapping inside the file (and the zero-filled
// tail of its last page) stays readable.
//
//go:build ignore

#include "task_check.h"
#include <setjmp.h>

static sigjmp_buf env;
static volatile uintptr_t addr;
static volatile int code, signo;

static void handler(int sig, siginfo_t *si, void *uc) {
	(void)uc;
	signo = sig;
	code = si->si_code;
	addr = (uintptr_t)si->si_addr;
	siglongjmp(env, 1);
}

int main(int argc, char **argv) {
	long pg = page_size();
	install(SIGBUS, handler, 0);
	int fd = open(fixture(argc, argv, "small.txt"), O_RDONLY);
	CHECK(fd >= 0);
	char *m = mmap(NULL, 3 * pg, PROT_READ, MAP_PRIVATE, fd, 0);
	CHECK(m != MAP_FAILED);
	CHECK_MEM(m, SMALL_TXT, SMALL_LEN);
	CHECK_FILL(m + SMALL_LEN, 0, pg - SMALL_LEN);

	for (int i = 1; i < 3; i++) {
		signo = 0;
		if (sigsetjmp(env, 1) == 0) {
			(void)*(volatile char *)(m + i * pg + 10);
			FAIL("reading page %d past EOF did not fault", i);
		}
		CHECK_EQ(signo, SIGBUS);
		CHECK_EQ(code, BUS_ADRERR);
		CHECK_EQ(addr, (uintptr_t)(m + i * pg + 10));
	}
	CHECK_EQ(m[0], 'h'); // still fine
	return 0;
}
