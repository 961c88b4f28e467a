// expect: signal 11
// fault_noexec: jumping into a readable, writable but not executable page
// kills the process with SIGSEGV (NX).
//
//go:build ignore

#include "check.h"

int main(void) {
	unsigned char *p = mmap(NULL, page_size(), PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(p != MAP_FAILED);
	p[0] = 0xc3; // ret
	void (*volatile fn)(void) = (void (*)(void))p;
	about_to_fault();
	fn();
	FAIL("calling into a non-executable page did not fault");
}
