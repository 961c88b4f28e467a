// mmap_anon: anonymous private and shared mappings are page aligned,
// zero-filled and writable; lengths round up to whole pages; a free hint
// address is honoured; bad arguments fail with EINVAL/ENOMEM.
//
//go:build ignore

#include "check.h"

int main(void) {
	long ps = page_size();

	// Private anonymous: aligned, zeroed, writable.
	unsigned char *p = mmap(NULL, 3 * ps, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(p != MAP_FAILED);
	CHECK_EQ((uintptr_t)p % ps, 0);
	CHECK_FILL(p, 0, 3 * ps);
	memset(p, 0xa5, 3 * ps);
	CHECK_FILL(p, 0xa5, 3 * ps);
	CHECK_EQ(munmap(p, 3 * ps), 0);

	// Shared anonymous: same.
	unsigned char *s = mmap(NULL, 2 * ps, PROT_READ | PROT_WRITE,
				MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(s != MAP_FAILED);
	CHECK_EQ((uintptr_t)s % ps, 0);
	CHECK_FILL(s, 0, 2 * ps);
	memset(s, 0x3c, 2 * ps);
	CHECK_FILL(s, 0x3c, 2 * ps);
	CHECK_EQ(munmap(s, 2 * ps), 0);

	// A length that is not a page multiple maps whole pages.
	unsigned char *r = mmap(NULL, ps + 1, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(r != MAP_FAILED);
	r[2 * ps - 1] = 7; // last byte of the second page is mapped
	CHECK_EQ(r[2 * ps - 1], 7);
	CHECK(is_mapped(r + ps));
	CHECK_EQ(munmap(r, 2 * ps), 0);

	// A free hint is used as is.
	unsigned char *hole = mmap(NULL, 8 * ps, PROT_NONE,
				   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(hole != MAP_FAILED);
	CHECK_EQ(munmap(hole, 8 * ps), 0);
	unsigned char *h = mmap(hole + 2 * ps, ps, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK_EQ(h, hole + 2 * ps);
	CHECK_EQ(munmap(h, ps), 0);

	// Errors.
	CHECK_ERR(mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), EINVAL);
	CHECK_ERR(mmap(NULL, ps, PROT_READ, MAP_ANONYMOUS, -1, 0), EINVAL); // neither private nor shared
	CHECK_ERR(mmap(hole + 1, ps, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0), EINVAL);
	CHECK_ERR(mmap(NULL, ps, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 1), EINVAL); // unaligned offset
	CHECK_ERR(mmap(NULL, (size_t)1 << 62, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), ENOMEM);
	CHECK_ERR(mmap(NULL, (size_t)-ps, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), ENOMEM);
	return 0;
}
