// map_growsdown: a MAP_GROWSDOWN mapping behaves like a normal one and grows
// downwards when the page just below it (or a few pages below) is touched,
// as long as nothing accessible is within the stack guard gap below.
//
//go:build ignore

#include "check.h"

int main(void) {
	long ps = page_size();
	// A PROT_NONE floor (inaccessible, so it does not count for the guard
	// gap), with free space above it for the stack to grow into.
	unsigned char *region = mmap(NULL, 64 * ps, PROT_NONE,
				     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(region != MAP_FAILED);
	CHECK_EQ(munmap(region + 16 * ps, 48 * ps), 0);

	unsigned char *top = region + 60 * ps;
	unsigned char *g = mmap(top, 4 * ps, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_GROWSDOWN | MAP_FIXED, -1, 0);
	CHECK_EQ(g, top);
	CHECK_FILL(g, 0, 4 * ps);
	memset(g, 0x44, 4 * ps);
	CHECK_FILL(g, 0x44, 4 * ps);
	CHECK(!is_mapped(g - ps));

	// Touching the byte right below the mapping grows it by a page.
	volatile unsigned char *below = g - 1;
	CHECK_EQ(*below, 0);
	*below = 0x55;
	CHECK_EQ(*below, 0x55);
	CHECK(is_mapped(g - ps));
	CHECK_FILL(g - ps, 0, ps - 1);

	// Touching further down grows it to there.
	volatile unsigned char *far = g - 8 * ps;
	*far = 0x66;
	CHECK_EQ(*far, 0x66);
	for (int i = 1; i <= 8; i++)
		CHECK(is_mapped(g - i * ps));
	CHECK_FILL(g, 0x44, 4 * ps);
	CHECK(!is_mapped(region + 16 * ps)); // did not grow past the touch
	return 0;
}
