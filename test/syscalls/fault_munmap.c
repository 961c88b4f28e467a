// expect: signal 11
// fault_munmap: touching memory after munmap kills the process with SIGSEGV.
//
//go:build ignore

#include "check.h"

int main(void) {
	long ps = page_size();
	volatile unsigned char *p = mmap(NULL, 2 * ps, PROT_READ | PROT_WRITE,
					 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(p != MAP_FAILED);
	p[ps] = 1;
	CHECK_EQ(munmap((void *)(p + ps), ps), 0);
	p[0] = 2; // first page still fine
	CHECK_EQ(p[0], 2);
	about_to_fault();
	unsigned char v = p[ps];
	FAIL("read of an unmapped page did not fault (read %d)", v);
}
