// mmap_fixed: MAP_FIXED replaces (part of) an existing mapping with fresh
// zero pages and leaves the rest alone; MAP_FIXED_NOREPLACE fails with EEXIST
// on any overlap but maps exactly at a free address.
//
//go:build ignore

#include "check.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

int main(void) {
	long ps = page_size();
	unsigned char *a = mmap(NULL, 4 * ps, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(a != MAP_FAILED);
	memset(a, 0xaa, 4 * ps);

	// Replace the second page.
	unsigned char *b = mmap(a + ps, ps, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	CHECK_EQ(b, a + ps);
	CHECK_FILL(a, 0xaa, ps);
	CHECK_FILL(a + ps, 0, ps);
	CHECK_FILL(a + 2 * ps, 0xaa, 2 * ps);
	b[0] = 1;
	CHECK_EQ(a[ps], 1);

	// Replace a range that straddles two pages with a read-only shared one.
	unsigned char *c = mmap(a + 2 * ps, 2 * ps, PROT_READ,
				MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	CHECK_EQ(c, a + 2 * ps);
	CHECK_FILL(a + 2 * ps, 0, 2 * ps);
	CHECK_EQ(a[ps], 1);

	// MAP_FIXED_NOREPLACE over existing pages: EEXIST, nothing changes.
	CHECK_ERR(mmap(a, ps, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0), EEXIST);
	CHECK_FILL(a, 0xaa, ps);
	// Partial overlap: the first page is free, the second is mapped.
	CHECK_EQ(munmap(a, ps), 0);
	CHECK_ERR(mmap(a, 2 * ps, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0), EEXIST);
	CHECK(!is_mapped(a));
	CHECK_EQ(a[ps], 1);
	// Free range: mapped exactly there.
	unsigned char *d = mmap(a, ps, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	CHECK_EQ(d, a);
	CHECK_FILL(d, 0, ps);

	// MAP_FIXED inside a PROT_NONE reservation.
	unsigned char *res = mmap(NULL, 16 * ps, PROT_NONE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(res != MAP_FAILED);
	unsigned char *m = mmap(res + 5 * ps, 3 * ps, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	CHECK_EQ(m, res + 5 * ps);
	memset(m, 0x11, 3 * ps);
	CHECK_FILL(m, 0x11, 3 * ps);

	CHECK_EQ(munmap(a, 4 * ps), 0);
	CHECK_EQ(munmap(res, 16 * ps), 0);
	return 0;
}
