// rlimit_as: in a child with RLIMIT_AS lowered to (current size + 64 MiB),
// a mapping that would exceed it fails with ENOMEM while a smaller one fits,
// brk cannot grow past it, and mremap growth is refused too; the limit is
// inherited by a grandchild; the parent is unaffected.
//
//go:build ignore

#include "task_check.h"

int main(void) {
	pid_t pid = XFORK();
	if (pid == 0) {
		struct rlimit r;
		CHECK_OK(getrlimit(RLIMIT_AS, &r));
		// Find a limit just above the current size (no /proc needed):
		// the smallest multiple of 64 MiB that leaves room for 32 MiB.
		rlim_t lim = 64 << 20;
		for (;;) {
			struct rlimit t = {lim, r.rlim_max};
			CHECK_OK(setrlimit(RLIMIT_AS, &t));
			void *p = mmap(NULL, 32 << 20, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (p != MAP_FAILED) {
				munmap(p, 32 << 20);
				break;
			}
			CHECK_EQ(errno, ENOMEM);
			lim += 64 << 20;
			CHECK(lim < (rlim_t)64 << 30);
		}
		// lim holds more than 32 MiB above current use, and at most ~96.
		void *big = mmap(NULL, 256 << 20, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		CHECK(big == MAP_FAILED);
		CHECK_EQ(errno, ENOMEM);
		void *small = mmap(NULL, 16 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		CHECK(small != MAP_FAILED);
		CHECK(mremap(small, 16 << 20, 256 << 20, MREMAP_MAYMOVE) == MAP_FAILED);
		CHECK_EQ(errno, ENOMEM);
		void *cur = sbrk(0);
		CHECK(sbrk(256 << 20) == (void *)-1);
		CHECK_EQ(sbrk(0), cur);
		pid_t gc = XFORK();
		if (gc == 0) {
			void *b = mmap(NULL, 256 << 20, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			_exit(b == MAP_FAILED && errno == ENOMEM ? 0 : 1);
		}
		WAIT_EXIT(gc, 0);
		_exit(0);
	}
	WAIT_EXIT(pid, 0);
	void *big = mmap(NULL, 256 << 20, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(big != MAP_FAILED);
	CHECK_OK(munmap(big, 256 << 20));
	return 0;
}
