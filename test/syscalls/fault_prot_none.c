// expect: signal 11
// fault_prot_none: reading a PROT_NONE page kills the process with SIGSEGV,
// even though the page is mapped.
//
//go:build ignore

#include "check.h"

int main(void) {
	volatile unsigned char *p = mmap(NULL, page_size(), PROT_NONE,
					 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(p != MAP_FAILED);
	CHECK(is_mapped((void *)p));
	about_to_fault();
	unsigned char v = p[0];
	FAIL("read of a PROT_NONE page did not fault (read %d)", v);
}
