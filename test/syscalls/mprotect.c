// mprotect: changing protection keeps page contents (through PROT_NONE and
// back); length 0 is a no-op; unaligned start -> EINVAL; unknown bits ->
// EINVAL; any unmapped page in the range -> ENOMEM.
//
//go:build ignore

#include "check.h"

int main(void) {
	long ps = page_size();
	unsigned char *a = mmap(NULL, 4 * ps, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(a != MAP_FAILED);
	memset(a, 0x42, 4 * ps);

	CHECK_EQ(mprotect(a, 4 * ps, PROT_READ), 0);
	CHECK_FILL(a, 0x42, 4 * ps);

	// Middle page to PROT_NONE and back: content survives.
	CHECK_EQ(mprotect(a + ps, ps, PROT_NONE), 0);
	CHECK_FILL(a, 0x42, ps);
	CHECK_EQ(mprotect(a + ps, ps, PROT_READ | PROT_WRITE), 0);
	CHECK_FILL(a + ps, 0x42, ps);
	a[ps] = 1;
	CHECK_EQ(a[ps], 1);

	// Whole range writable again, length rounded up to a page.
	CHECK_EQ(mprotect(a, 3 * ps + 1, PROT_READ | PROT_WRITE), 0);
	a[4 * ps - 1] = 9;
	CHECK_EQ(a[4 * ps - 1], 9);

	CHECK_EQ(mprotect(a, 0, PROT_NONE), 0); // no-op
	a[0] = 2;
	CHECK_EQ(a[0], 2);

	// Errors.
	CHECK_ERR(mprotect(a + 1, ps, PROT_READ), EINVAL);
	CHECK_ERR(mprotect(a, ps, 0x1000000), EINVAL);
	CHECK_EQ(munmap(a + 3 * ps, ps), 0);
	CHECK_ERR(mprotect(a + 3 * ps, ps, PROT_READ), ENOMEM);
	CHECK_ERR(mprotect(a + 2 * ps, 2 * ps, PROT_READ), ENOMEM); // tail unmapped
	CHECK_EQ(a[ps], 1);
	CHECK_EQ(munmap(a, 3 * ps), 0);
	CHECK_ERR(mprotect(a, ps, PROT_READ), ENOMEM);
	return 0;
}
