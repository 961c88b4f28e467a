// futex_shared_process: a futex word in MAP_SHARED|MAP_ANONYMOUS memory
// links processes: a child's shared FUTEX_WAIT is woken by the parent's
// shared FUTEX_WAKE (which counts it), and a ping-pong through two words
// works in both directions; a private wake from the parent finds nothing,
// since private futexes are keyed by address space.
//
//go:build ignore

#include "task_check.h"

enum { ROUNDS = 200 };

static void wait_for(atomic_int *w, int v) {
	struct timespec to = {5, 0};
	while (atomic_load(w) != v) {
		int cur = atomic_load(w);
		if (cur == v)
			break;
		if (futex(w, FUTEX_WAIT, cur, &to, NULL, 0) < 0 && errno == ETIMEDOUT)
			FAIL("stuck waiting for %d (word is %d)", v, atomic_load(w));
	}
}

int main(void) {
	atomic_int *w = mmap(NULL, page_size(), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(w != MAP_FAILED);
	atomic_int *ready = w + 1, *turn = w + 16;
	pid_t pid = XFORK();
	if (pid == 0) {
		atomic_store(ready, 1);
		long r;
		do
			r = futex(w, FUTEX_WAIT, 0, NULL, NULL, 0);
		while (r < 0 && errno == EINTR);
		if (r != 0)
			_exit(2);
		for (int i = 1; i < 2 * ROUNDS; i += 2) {
			wait_for(turn, i);
			atomic_store(turn, i + 1);
			futex(turn, FUTEX_WAKE, 1, NULL, NULL, 0);
		}
		_exit(0);
	}
	while (!atomic_load(ready))
		msleep(1);
	msleep(50);
	CHECK_EQ(futex(w, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0), 0);
	futex_wake_n(w, FUTEX_WAKE, 1);
	for (int i = 0; i < 2 * ROUNDS; i += 2) {
		wait_for(turn, i);
		atomic_store(turn, i + 1);
		futex(turn, FUTEX_WAKE, 1, NULL, NULL, 0);
	}
	wait_for(turn, 2 * ROUNDS);
	WAIT_EXIT(pid, 0);
	return 0;
}
