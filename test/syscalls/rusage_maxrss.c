// getrusage's ru_maxrss is the peak resident set: touching more memory
// than the peak so far (which Linux carries over from before execve) and
// unmapping it leaves the peak above that amount.
//go:build ignore

#include "check.h"
#include <sys/resource.h>

int main(void) {
	struct rusage r0, r1;
	CHECK_OK(getrusage(RUSAGE_SELF, &r0));
	size_t n = (size_t)r0.ru_maxrss * 1024 + (64 << 20);
	char *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(p != MAP_FAILED);
	memset(p, 1, n);
	CHECK_OK(munmap(p, n));
	CHECK_OK(getrusage(RUSAGE_SELF, &r1));
	CHECK(r1.ru_maxrss >= (long)(n / 1024) - 4 * 1024); // KiB
	return 0;
}
