// futex_timeout: FUTEX_WAIT's timeout is relative (ETIMEDOUT after at least
// that long), FUTEX_WAIT_BITSET's is an absolute CLOCK_MONOTONIC deadline,
// or CLOCK_REALTIME with FUTEX_CLOCK_REALTIME (a past deadline times out at
// once); bad timespecs and an empty bitset are EINVAL; FUTEX_WAKE_BITSET
// wakes only waiters whose bitset intersects its own, before their
// deadline.
//
//go:build ignore

#include "task_check.h"

static int word;
static atomic_int state; // 1: waiting, 2: woken (0), 3: timed out

static void *bit_waiter(void *arg) {
	(void)arg;
	struct timespec dl;
	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_sec += 5;
	atomic_store(&state, 1);
	long r;
	do
		r = futex(&word, FUTEX_WAIT_BITSET_PRIVATE, 0, &dl, NULL, 0x4);
	while (r < 0 && errno == EINTR);
	atomic_store(&state, r == 0 ? 2 : 3);
	return NULL;
}

int main(void) {
	struct timespec rel = {0, 50 * 1000000};
	long long t0 = now_ns(CLOCK_MONOTONIC);
	CHECK_ERR(futex(&word, FUTEX_WAIT_PRIVATE, 0, &rel, NULL, 0), ETIMEDOUT);
	long long t1 = now_ns(CLOCK_MONOTONIC);
	CHECK(t1 - t0 >= 50 * 1000000LL);

	struct timespec abs_;
	long long dl = t1 + 60 * 1000000LL;
	abs_.tv_sec = dl / 1000000000LL;
	abs_.tv_nsec = dl % 1000000000LL;
	CHECK_ERR(futex(&word, FUTEX_WAIT_BITSET_PRIVATE, 0, &abs_, NULL, FUTEX_BITSET_MATCH_ANY), ETIMEDOUT);
	CHECK(now_ns(CLOCK_MONOTONIC) >= dl);
	CHECK(now_ns(CLOCK_MONOTONIC) - dl < 2000 * 1000000LL);

	long long rdl = now_ns(CLOCK_REALTIME) + 60 * 1000000LL;
	abs_.tv_sec = rdl / 1000000000LL;
	abs_.tv_nsec = rdl % 1000000000LL;
	CHECK_ERR(futex(&word, FUTEX_WAIT_BITSET_PRIVATE | FUTEX_CLOCK_REALTIME, 0, &abs_, NULL, FUTEX_BITSET_MATCH_ANY),
		  ETIMEDOUT);
	CHECK(now_ns(CLOCK_REALTIME) >= rdl);

	// A deadline in the past: at once.
	abs_.tv_sec = 1;
	abs_.tv_nsec = 0;
	t0 = now_ns(CLOCK_MONOTONIC);
	CHECK_ERR(futex(&word, FUTEX_WAIT_BITSET_PRIVATE, 0, &abs_, NULL, FUTEX_BITSET_MATCH_ANY), ETIMEDOUT);
	CHECK(now_ns(CLOCK_MONOTONIC) - t0 < 500 * 1000000LL);

	struct timespec bad = {0, 1000000000};
	CHECK_ERR(futex(&word, FUTEX_WAIT_PRIVATE, 0, &bad, NULL, 0), EINVAL);
	bad.tv_sec = -1;
	bad.tv_nsec = 0;
	CHECK_ERR(futex(&word, FUTEX_WAIT_PRIVATE, 0, &bad, NULL, 0), EINVAL);
	CHECK_ERR(futex(&word, FUTEX_WAIT_BITSET_PRIVATE, 0, &rel, NULL, 0), EINVAL);
	CHECK_ERR(futex(&word, FUTEX_WAKE_BITSET_PRIVATE, 1, NULL, NULL, 0), EINVAL);

	// Bitsets decide who is woken.
	pthread_t t;
	CHECK_EQ(pthread_create(&t, NULL, bit_waiter, NULL), 0);
	while (atomic_load(&state) == 0)
		msleep(1);
	msleep(50);
	CHECK_EQ(futex(&word, FUTEX_WAKE_BITSET_PRIVATE, 1, NULL, NULL, 0x3), 0); // no overlap with 0x4
	msleep(20);
	CHECK_EQ(atomic_load(&state), 1);
	CHECK_EQ(futex(&word, FUTEX_WAKE_BITSET_PRIVATE, 1, NULL, NULL, 0x6), 1);
	CHECK_EQ(pthread_join(t, NULL), 0);
	CHECK_EQ(atomic_load(&state), 2);
	return 0;
}
