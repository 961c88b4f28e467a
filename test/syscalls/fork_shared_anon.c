// fork_shared_anon: a MAP_SHARED|MAP_ANONYMOUS mapping stays shared across
// fork (writes from either process are seen by the other, even while both
// run: a ping-pong through it), while a MAP_PRIVATE one does not, and the
// child unmapping its copy leaves the parent's intact.
//
//go:build ignore

#include "task_check.h"

enum { ROUNDS = 500 };

int main(void) {
	long pg = page_size();
	char *shared = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	char *priv = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(shared != MAP_FAILED && priv != MAP_FAILED);
	strcpy(shared, "before");
	strcpy(priv, "private");
	atomic_int *turn = (atomic_int *)(shared + pg);

	pid_t pid = XFORK();
	if (pid == 0) {
		CHECK(strcmp(shared, "before") == 0);
		strcpy(shared, "from child");
		strcpy(priv, "child's");
		// Ping-pong: the child moves odd numbers to even.
		long long deadline = now_ns(CLOCK_MONOTONIC) + 10 * 1000000000LL;
		for (int i = 1; i < 2 * ROUNDS; i += 2) {
			while (atomic_load(turn) != i) {
				if (now_ns(CLOCK_MONOTONIC) > deadline)
					_exit(3);
				sched_yield();
			}
			atomic_store(turn, i + 1);
		}
		CHECK_OK(munmap(shared, pg));
		_exit(0);
	}
	long long deadline = now_ns(CLOCK_MONOTONIC) + 10 * 1000000000LL;
	for (int i = 0; i < 2 * ROUNDS; i += 2) {
		while (atomic_load(turn) != i) {
			if (now_ns(CLOCK_MONOTONIC) > deadline)
				FAIL("ping-pong stuck at %d (want %d)", atomic_load(turn), i);
			sched_yield();
		}
		atomic_store(turn, i + 1);
	}
	WAIT_EXIT(pid, 0);
	CHECK_EQ(atomic_load(turn), 2 * ROUNDS);
	CHECK(strcmp(shared, "from child") == 0); // survived the child's munmap
	CHECK(strcmp(priv, "private") == 0);
	return 0;
}
