// fork_snapshot: a child forked while another thread of its parent keeps
// writing sees its parent's memory as of one point in that thread's run:
// of two stores the thread makes in order, first to a one-page mapping and
// then to a large one, the child never sees the second without the first.
// (The C library relies on this: fork in the child repairs the thread
// list another thread was editing, going by a marker written before.)
//
//go:build ignore

#include "task_check.h"
#include <sys/mman.h>

enum { FORKS = 300, BIG = 64 << 20 };

static volatile long *first;  // in a one-page private mapping
static volatile long *second; // in a large private mapping
static atomic_int stop;

static void *writer(void *arg) {
	(void)arg;
	for (long i = 1; !atomic_load_explicit(&stop, memory_order_relaxed); i++) {
		*first = i;
		atomic_thread_fence(memory_order_release);
		*second = i;
	}
	return NULL;
}

int main(void) {
	first = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(first != MAP_FAILED);
	char *big = mmap(NULL, BIG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(big != MAP_FAILED);
	second = (volatile long *)(big + BIG / 2);
	*first = 0;
	*second = 0;

	pthread_t t;
	CHECK_EQ(pthread_create(&t, NULL, writer, NULL), 0);
	while (*second == 0)
		sched_yield();
	for (int i = 0; i < FORKS; i++) {
		pid_t pid = XFORK();
		if (pid == 0) {
			long s = *second;
			long f = *first;
			if (f < s) {
				fprintf(stderr, "fork %d: the child sees the second store of %ld but the first of only %ld\n", i, s, f);
				_exit(1);
			}
			_exit(0);
		}
		WAIT_EXIT(pid, 0);
	}
	atomic_store(&stop, 1);
	CHECK_EQ(pthread_join(t, NULL), 0);
	return 0;
}
