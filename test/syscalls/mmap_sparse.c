// mmap_sparse: a 256 MiB anonymous mapping can be created and a few pages
// touched far apart; untouched pages read as zero; unmapping it works.
//
//go:build ignore

#include "check.h"

int main(void) {
	long ps = page_size();
	size_t len = (size_t)256 << 20;
	unsigned char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(p != MAP_FAILED);
	size_t offs[] = {0, 4096 * 3 + 17, (size_t)64 << 20, (size_t)128 << 20, len - ps, len - 1};
	int n = sizeof offs / sizeof offs[0];
	for (int i = 0; i < n; i++)
		p[offs[i]] = (unsigned char)(i + 1);
	for (int i = 0; i < n; i++)
		CHECK_EQ(p[offs[i]], i + 1);
	// Untouched pages in between are zero.
	CHECK_FILL(p + ((size_t)32 << 20), 0, ps);
	CHECK_FILL(p + ((size_t)200 << 20), 0, ps);
	CHECK_EQ(p[1], 0);
	CHECK_EQ(p[len - 2], 0);
	CHECK_EQ(munmap(p, len), 0);
	CHECK(!is_mapped(p + ((size_t)64 << 20)));

	// A second one with MAP_NORESERVE.
	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	CHECK(p != MAP_FAILED);
	p[len / 2] = 9;
	CHECK_EQ(p[len / 2], 9);
	CHECK_EQ(munmap(p, len), 0);
	return 0;
}
