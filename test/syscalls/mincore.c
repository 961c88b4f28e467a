// mincore: touched anonymous pages and read file pages report resident (bit
// 0; the other bits are zero), one vector byte per page with the length
// rounded up; unaligned -> EINVAL, any unmapped page -> ENOMEM, bad vector ->
// EFAULT.
//
//go:build ignore

#include "check.h"

int main(int argc, char **argv) {
	long ps = page_size();
	unsigned char *p = mmap(NULL, 4 * ps, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(p != MAP_FAILED);
	memset(p, 1, 4 * ps);

	unsigned char vec[8];
	memset(vec, 0xee, sizeof vec);
	CHECK_EQ(mincore(p, 4 * ps, vec), 0);
	for (int i = 0; i < 4; i++)
		CHECK_EQ(vec[i], 1);
	CHECK_EQ(vec[4], 0xee); // nothing written past the last page

	// Length rounds up: 2 pages + 1 byte -> 3 entries.
	memset(vec, 0xee, sizeof vec);
	CHECK_EQ(mincore(p, 2 * ps + 1, vec), 0);
	CHECK_EQ(vec[2], 1);
	CHECK_EQ(vec[3], 0xee);

	// A file page that has just been read is resident.
	int fd = open(fixture(argc, argv, "small.txt"), O_RDONLY);
	CHECK(fd >= 0);
	volatile char *f = mmap(NULL, ps, PROT_READ, MAP_PRIVATE, fd, 0);
	CHECK(f != MAP_FAILED);
	CHECK_EQ(f[0], 'h');
	CHECK_EQ(mincore((void *)f, ps, vec), 0);
	CHECK_EQ(vec[0], 1);

	CHECK_EQ(mincore(p, 0, vec), 0);
	CHECK_ERR(mincore(p + 1, ps, vec), EINVAL);
	CHECK_ERR(mincore(p, ps, bad_addr()), EFAULT);
	CHECK_EQ(munmap(p + 3 * ps, ps), 0);
	CHECK_ERR(mincore(p + 3 * ps, ps, vec), ENOMEM);
	CHECK_ERR(mincore(p, 4 * ps, vec), ENOMEM);
	return 0;
}
