// map_populate: MAP_POPULATE mappings (anonymous and private file) are
// resident before being touched and have the right contents.
//
//go:build ignore

#include "check.h"

int main(int argc, char **argv) {
	long ps = page_size();
	enum { N = 16 };
	unsigned char vec[N];

	unsigned char *a = mmap(NULL, N * ps, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	CHECK(a != MAP_FAILED);
	CHECK_EQ(mincore(a, N * ps, vec), 0);
	for (int i = 0; i < N; i++)
		CHECK_EQ(vec[i] & 1, 1);
	CHECK_FILL(a, 0, N * ps);
	memset(a, 0x33, N * ps);
	CHECK_FILL(a, 0x33, N * ps);

	int fd = open(fixture(argc, argv, "big.bin"), O_RDONLY);
	CHECK(fd >= 0);
	unsigned char *f = mmap(NULL, N * ps, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 4 * ps);
	CHECK(f != MAP_FAILED);
	CHECK_EQ(mincore(f, N * ps, vec), 0);
	for (int i = 0; i < N; i++)
		CHECK_EQ(vec[i] & 1, 1);
	for (long i = 0; i < N * ps; i++)
		if (f[i] != (4 * ps + i) % 251)
			FAIL("big.bin mapping at +%ld (got %d want %ld)", i, f[i], (4 * ps + i) % 251);
	CHECK_EQ(close(fd), 0);
	return 0;
}
