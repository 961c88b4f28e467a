// getrandom_loop: libc's getrandom(3), which a libc may serve from the
// vDSO's __vdso_getrandom (Linux 6.11+) or with the system call when the
// vDSO has none, returns the bytes asked for on every call of a long loop,
// from several threads at once, without repeating itself; a fork child's
// bytes (getrandom and arc4random) differ from its parent's.
//
//go:build ignore

#include "task_check.h"
#include <pthread.h>
#include <stdlib.h>
#include <sys/random.h>

#define CALLS 2000

static void *loop(void *arg) {
	unsigned char prev[16] = {0}, cur[16];
	for (int i = 0; i < CALLS; i++) {
		size_t n = 1 + i % 16;
		memset(cur, 0, sizeof cur);
		CHECK_EQ(getrandom(cur, n, 0), (ssize_t)n);
		if (n == 16) {
			// 128 random bits never repeat.
			CHECK(memcmp(cur, prev, 16) != 0);
			memcpy(prev, cur, 16);
		}
	}
	return arg;
}

int main(void) {
	loop(NULL);
	pthread_t th[3];
	for (int i = 0; i < 3; i++)
		CHECK_EQ(pthread_create(&th[i], NULL, loop, NULL), 0);
	for (int i = 0; i < 3; i++)
		CHECK_EQ(pthread_join(th[i], NULL), 0);

	// A child's state is not its parent's.
	int p[2];
	CHECK_OK(pipe(p));
	fflush(NULL);
	pid_t pid = XFORK();
	unsigned char mine[32];
	CHECK_EQ(getrandom(mine, 16, 0), 16);
	uint32_t a = arc4random();
	memcpy(mine + 16, &a, sizeof a);
	memset(mine + 20, 0, 12);
	if (pid == 0) {
		CHECK_EQ(write(p[1], mine, sizeof mine), sizeof mine);
		_exit(0);
	}
	unsigned char child[32];
	CHECK_EQ(read(p[0], child, sizeof child), sizeof child);
	WAIT_EXIT(pid, 0);
	CHECK(memcmp(mine, child, 16) != 0);
	CHECK(memcmp(mine + 16, child + 16, 4) != 0); // arc4random too
	return 0;
}
