// madvise: MADV_DONTNEED zero-fills private anonymous pages, keeps shared
// anonymous contents, and drops private copies of a file mapping (the file's
// bytes reappear); MADV_FREE leaves each page either intact or zeroed and is
// EINVAL on shared mappings; bad arguments -> EINVAL, unmapped -> ENOMEM.
//
//go:build ignore

#include "check.h"

#ifndef MADV_FREE
#define MADV_FREE 8
#endif

int main(int argc, char **argv) {
	long ps = page_size();

	// Private anonymous: DONTNEED on the middle page zero-fills it.
	unsigned char *p = mmap(NULL, 3 * ps, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(p != MAP_FAILED);
	memset(p, 0x5a, 3 * ps);
	CHECK_EQ(madvise(p + ps, ps, MADV_DONTNEED), 0);
	CHECK_FILL(p, 0x5a, ps);
	CHECK_FILL(p + ps, 0, ps);
	CHECK_FILL(p + 2 * ps, 0x5a, ps);
	p[ps] = 3; // still mapped and writable
	CHECK_EQ(p[ps], 3);

	// Shared anonymous: the data lives on.
	unsigned char *s = mmap(NULL, 2 * ps, PROT_READ | PROT_WRITE,
				MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(s != MAP_FAILED);
	memset(s, 0x77, 2 * ps);
	CHECK_EQ(madvise(s, 2 * ps, MADV_DONTNEED), 0);
	CHECK_FILL(s, 0x77, 2 * ps);
	CHECK_ERR(madvise(s, ps, MADV_FREE), EINVAL);

	// Private file mapping: the private copy is dropped.
	int fd = open(fixture(argc, argv, "small.txt"), O_RDONLY);
	CHECK(fd >= 0);
	char *f = mmap(NULL, ps, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	CHECK(f != MAP_FAILED);
	f[0] = 'J';
	CHECK_EQ(f[0], 'J');
	CHECK_EQ(madvise(f, ps, MADV_DONTNEED), 0);
	CHECK_MEM(f, SMALL_TXT, SMALL_LEN);
	CHECK_EQ(munmap(f, ps), 0);
	close(fd);

	// MADV_FREE: every page is either unchanged or all zeros; writes after
	// it stick.
	memset(p, 0x5a, 3 * ps);
	CHECK_EQ(madvise(p, 3 * ps, MADV_FREE), 0);
	for (int i = 0; i < 3; i++) {
		unsigned char c = p[i * ps];
		if (c != 0 && c != 0x5a)
			FAIL("page %d after MADV_FREE starts with %#x", i, c);
		CHECK_FILL(p + i * ps, c, ps);
	}
	memset(p, 0x12, 3 * ps);
	CHECK_FILL(p, 0x12, 3 * ps);

	// Errors.
	CHECK_EQ(madvise(p, 0, MADV_DONTNEED), 0);
	CHECK_ERR(madvise(p + 1, ps, MADV_DONTNEED), EINVAL);
	CHECK_ERR(madvise(p, ps, 12345), EINVAL);
	CHECK_EQ(munmap(p + ps, ps), 0);
	CHECK_ERR(madvise(p, 3 * ps, MADV_DONTNEED), ENOMEM);
	CHECK_ERR(madvise(p + ps, ps, MADV_NORMAL), ENOMEM);
	return 0;
}
