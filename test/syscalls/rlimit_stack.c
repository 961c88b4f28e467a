// rlimit_stack: the main thread's stack grows on demand up to RLIMIT_STACK
// (read at the time of the fault): in a child that lowered it to 1 MiB,
// touching 512 KiB further down works while touching 2 MiB down raises
// SIGSEGV; with 8 MiB the same 2 MiB access works.
//
//go:build ignore

#include "task_check.h"

// touch_down writes a byte `depth` bytes below the current stack pointer,
// growing the stack through alloca-free recursion in 64 KiB frames.
static volatile int forever = 1;
static int touch_down(long depth) {
	volatile char frame[64 * 1024];
	frame[0] = 1;
	frame[sizeof frame - 1] = 1;
	if (depth > (long)sizeof frame && forever)
		return touch_down(depth - sizeof frame) + frame[0];
	return frame[0];
}

static int grow(rlim_t limit, long depth) {
	pid_t pid = XFORK();
	if (pid == 0) {
		no_core();
		struct rlimit r;
		CHECK_OK(getrlimit(RLIMIT_STACK, &r));
		r.rlim_cur = limit;
		CHECK_OK(setrlimit(RLIMIT_STACK, &r));
		touch_down(depth);
		_exit(0);
	}
	int ws = WAITPID(pid, 0);
	if (WIFEXITED(ws) && WEXITSTATUS(ws) == 0)
		return 0;
	if (WIFSIGNALED(ws) && WTERMSIG(ws) == SIGSEGV)
		return SIGSEGV;
	FAIL("child: %s", wstatus_str(ws));
}

int main(void) {
	struct rlimit r;
	CHECK_OK(getrlimit(RLIMIT_STACK, &r));
	if (r.rlim_max != RLIM_INFINITY && r.rlim_max < (8 << 20))
		FAIL("hard RLIMIT_STACK %lu is below 8 MiB", (unsigned long)r.rlim_max);
	CHECK_EQ(grow(1 << 20, 512 << 10), 0);
	CHECK_EQ(grow(1 << 20, 2 << 20), SIGSEGV);
	CHECK_EQ(grow(8 << 20, 2 << 20), 0);
	return 0;
}
