// expect: signal 11
// fault_mprotect: a page that was written while writable and then made
// PROT_READ by mprotect keeps its data but kills the writer with SIGSEGV.
//
//go:build ignore

#include "check.h"

int main(void) {
	volatile unsigned char *p = mmap(NULL, page_size(), PROT_READ | PROT_WRITE,
					 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(p != MAP_FAILED);
	p[10] = 42;
	CHECK_EQ(mprotect((void *)p, page_size(), PROT_READ), 0);
	CHECK_EQ(p[10], 42);
	about_to_fault();
	p[10] = 43;
	FAIL("write after mprotect(PROT_READ) did not fault (p[10] is now %d)", p[10]);
}
