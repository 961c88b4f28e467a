// getrandom: returns exactly the requested number of bytes for requests up
// to 256 bytes (0 included), with GRND_NONBLOCK and GRND_RANDOM too;
// successive outputs differ; unknown flags -> EINVAL; a bad buffer -> EFAULT.
//
//go:build ignore

#include "check.h"
#include <sys/random.h>

static long grnd(void *buf, size_t n, unsigned flags) {
	return syscall(SYS_getrandom, buf, n, flags);
}

int main(void) {
	unsigned char a[256], b[256];
	CHECK_EQ(grnd(a, 0, 0), 0);
	size_t sizes[] = {1, 7, 16, 33, 255, 256};
	for (unsigned i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		memset(a, 0, sizeof a);
		memset(b, 0, sizeof b);
		CHECK_EQ(grnd(a, sizes[i], 0), sizes[i]);
		CHECK_EQ(grnd(b, sizes[i], GRND_NONBLOCK), sizes[i]);
		if (sizes[i] >= 16)
			CHECK(memcmp(a, b, sizes[i]) != 0);
	}
	// Nothing written past the requested length.
	memset(a, 0xee, sizeof a);
	CHECK_EQ(grnd(a, 10, 0), 10);
	CHECK_FILL(a + 10, 0xee, sizeof a - 10);

	// GRND_RANDOM may return fewer bytes, but at least one, without blocking.
	long n = grnd(a, 64, GRND_RANDOM | GRND_NONBLOCK);
	if (n < 0)
		CHECK_EQ(errno, EAGAIN);
	else
		CHECK(n >= 1 && n <= 64);

	// Not stuck at zero.
	int nonzero = 0;
	CHECK_EQ(grnd(a, 256, 0), 256);
	for (int i = 0; i < 256; i++)
		nonzero += a[i] != 0;
	CHECK(nonzero > 200);

	// Larger requests return a positive count.
	static unsigned char big[1 << 16];
	n = grnd(big, sizeof big, 0);
	CHECK(n > 0 && n <= (long)sizeof big);

	CHECK_ERR(grnd(a, 16, 0x80), EINVAL);
	CHECK_ERR(grnd(a, 16, GRND_RANDOM | 0x1000), EINVAL);
	CHECK_ERR(grnd(bad_addr(), 16, 0), EFAULT);
	return 0;
}
