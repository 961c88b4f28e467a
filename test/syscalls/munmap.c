// munmap: unmapping a page in the middle splits a mapping and keeps the
// neighbours' contents; unmapping the ends trims it; unmapping a free range
// succeeds; unaligned addresses and zero lengths fail with EINVAL.
//
//go:build ignore

#include "check.h"

int main(void) {
	long ps = page_size();
	unsigned char *a = mmap(NULL, 5 * ps, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(a != MAP_FAILED);
	for (int i = 0; i < 5; i++)
		memset(a + i * ps, 'A' + i, ps);

	// Middle page: split into [0,2) and [3,5).
	CHECK_EQ(munmap(a + 2 * ps, ps), 0);
	CHECK(!is_mapped(a + 2 * ps));
	for (int i = 0; i < 5; i++)
		if (i != 2) {
			CHECK(is_mapped(a + i * ps));
			CHECK_FILL(a + i * ps, 'A' + i, ps);
		}
	unsigned char vec[5];
	CHECK_ERR(mincore(a, 5 * ps, vec), ENOMEM); // range has a hole
	CHECK_ERR(mprotect(a, 5 * ps, PROT_READ), ENOMEM);

	// Trim the ends, with a length that is not a page multiple.
	CHECK_EQ(munmap(a, 1), 0);
	CHECK(!is_mapped(a));
	CHECK_EQ(munmap(a + 4 * ps, ps - 1), 0);
	CHECK(!is_mapped(a + 4 * ps));
	CHECK_FILL(a + ps, 'B', ps);
	CHECK_FILL(a + 3 * ps, 'D', ps);

	// A range that spans holes and mappings: everything goes.
	CHECK_EQ(munmap(a, 5 * ps), 0);
	for (int i = 0; i < 5; i++)
		CHECK(!is_mapped(a + i * ps));
	// Unmapping what is already unmapped is fine.
	CHECK_EQ(munmap(a, 5 * ps), 0);

	// Errors.
	CHECK_ERR(munmap(a + 1, ps), EINVAL);
	CHECK_ERR(munmap(a, 0), EINVAL);
	CHECK_ERR(munmap((void *)-(uintptr_t)ps, 2 * ps), EINVAL); // wraps around
	return 0;
}
