// expect: signal 11
// fault_write_ro: writing to a PROT_READ anonymous page kills the process
// with SIGSEGV (reading it first is fine).
//
//go:build ignore

#include "check.h"

int main(void) {
	volatile unsigned char *p = mmap(NULL, page_size(), PROT_READ,
					 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(p != MAP_FAILED);
	CHECK_EQ(p[0], 0);
	about_to_fault();
	p[0] = 1;
	FAIL("write to a PROT_READ page did not fault (p[0] is now %d)", p[0]);
}
