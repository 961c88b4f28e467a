// mremap: grow in place when the next pages are free, shrink in place,
// ENOMEM when growth is blocked without MREMAP_MAYMOVE, move (keeping the
// data, unmapping the old range) with it, MREMAP_FIXED to a chosen address,
// and the EINVAL/EFAULT error cases.
//
//go:build ignore

#include "check.h"

int main(void) {
	long ps = page_size();

	// Grow in place: reserve 4 pages, keep the first 2.
	unsigned char *a = mmap(NULL, 4 * ps, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(a != MAP_FAILED);
	CHECK_EQ(munmap(a + 2 * ps, 2 * ps), 0);
	memset(a, 0x61, 2 * ps);
	CHECK_EQ(mremap(a, 2 * ps, 4 * ps, 0), a);
	CHECK_FILL(a, 0x61, 2 * ps);
	CHECK_FILL(a + 2 * ps, 0, 2 * ps);
	a[4 * ps - 1] = 1;

	// Shrink in place: the tail is unmapped.
	CHECK_EQ(mremap(a, 4 * ps, ps, 0), a);
	CHECK(!is_mapped(a + ps));
	CHECK_FILL(a, 0x61, ps);

	// Blocked growth: b is followed by a mapped guard page.
	unsigned char *b = mmap(NULL, 3 * ps, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(b != MAP_FAILED);
	memset(b, 0x62, 3 * ps);
	CHECK_ERR(mremap(b, 2 * ps, 4 * ps, 0), ENOMEM);
	CHECK_FILL(b, 0x62, 3 * ps);
	unsigned char *m = mremap(b, 2 * ps, 4 * ps, MREMAP_MAYMOVE);
	CHECK(m != MAP_FAILED);
	CHECK(m != b);
	CHECK_FILL(m, 0x62, 2 * ps);
	CHECK_FILL(m + 2 * ps, 0, 2 * ps);
	CHECK(!is_mapped(b));
	CHECK(!is_mapped(b + ps));
	CHECK_FILL(b + 2 * ps, 0x62, ps); // the guard page is untouched

	// MREMAP_FIXED to a free address.
	unsigned char *t = mmap(NULL, 2 * ps, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(t != MAP_FAILED);
	CHECK_EQ(munmap(t, 2 * ps), 0);
	CHECK_EQ(mremap(m, 2 * ps, 2 * ps, MREMAP_MAYMOVE | MREMAP_FIXED, t), t);
	CHECK_FILL(t, 0x62, 2 * ps);
	CHECK(!is_mapped(m));
	CHECK(is_mapped(m + 2 * ps)); // the rest of the old mapping stays

	// MREMAP_FIXED replaces whatever is mapped at the target.
	CHECK_EQ(mremap(a, ps, ps, MREMAP_MAYMOVE | MREMAP_FIXED, m + 2 * ps), m + 2 * ps);
	CHECK_FILL(m + 2 * ps, 0x61, ps);
	CHECK(!is_mapped(a));

	// Errors.
	CHECK_ERR(mremap(t, ps, ps, MREMAP_FIXED, b), EINVAL);         // FIXED needs MAYMOVE
	CHECK_ERR(mremap(t + 1, ps, 2 * ps, MREMAP_MAYMOVE), EINVAL);  // unaligned
	CHECK_ERR(mremap(t, ps, 0, MREMAP_MAYMOVE), EINVAL);           // zero new size
	CHECK_ERR(mremap(t, ps, ps, 0x80), EINVAL);                    // unknown flag
	CHECK_ERR(mremap(t, 2 * ps, 2 * ps, MREMAP_MAYMOVE | MREMAP_FIXED, t + ps), EINVAL); // overlap
	CHECK_ERR(mremap(a, ps, 2 * ps, MREMAP_MAYMOVE), EFAULT);      // a is unmapped
	return 0;
}
