// brk: brk(0) reports the break; growing returns the exact new break and
// gives zero-filled writable memory; shrinking releases it, so growing again
// yields zeros; impossible requests return the unchanged break.
//
//go:build ignore

#include "check.h"

static uintptr_t sys_brk(uintptr_t addr) { return (uintptr_t)syscall(SYS_brk, addr); }

int main(void) {
	long ps = page_size();
	uintptr_t cur = sys_brk(0);
	CHECK(cur != 0);
	CHECK_EQ(sys_brk(0), cur); // stable

	// Grow by 1 MiB (+ an unaligned tail).
	uintptr_t want = cur + (1 << 20) + 123;
	CHECK_EQ(sys_brk(want), want);
	CHECK_EQ(sys_brk(0), want);
	uintptr_t start = (cur + ps - 1) & ~(uintptr_t)(ps - 1);
	CHECK_FILL(start, 0, want - start);
	memset((void *)start, 0xab, want - start);
	CHECK_FILL(start, 0xab, want - start);

	// Shrink back and regrow: the pages come back zeroed.
	CHECK_EQ(sys_brk(cur), cur);
	CHECK(!is_mapped((void *)(start + 4 * ps)));
	CHECK_EQ(sys_brk(start + 8 * ps), start + 8 * ps);
	CHECK_FILL(start, 0, 8 * ps);

	// Failing requests return the current break unchanged.
	uintptr_t now = sys_brk(0);
	CHECK_EQ(sys_brk(0x1000), now);                   // below the data segment
	CHECK_EQ(sys_brk(now + ((uintptr_t)1 << 46)), now); // far too big
	CHECK_EQ(sys_brk(0), now);

	CHECK_EQ(sys_brk(cur), cur);
	return 0;
}
