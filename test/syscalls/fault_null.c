// expect: signal 11
// fault_null: dereferencing NULL kills the process with SIGSEGV (page 0 is
// never mapped).
//
//go:build ignore

#include "check.h"

int main(void) {
	volatile uintptr_t zero = 0;
	volatile int *p = (volatile int *)zero;
	about_to_fault();
	int v = *p;
	FAIL("reading address 0 did not fault (read %d)", v);
}
