// futex_pi_requeue: FUTEX_WAIT_REQUEUE_PI and FUTEX_CMP_REQUEUE_PI, the
// condition-variable operations for PI mutexes, on raw words. A waiter
// sleeps on the non-PI condition word; the requeue takes the PI futex for
// the oldest waiter if it is free (waking it as the owner) and moves the
// others to wait on the PI futex, to be handed it by FUTEX_UNLOCK_PI. The
// return value counts woken plus moved waiters. Such waiters only move
// with FUTEX_CMP_REQUEUE_PI (FUTEX_WAKE and FUTEX_CMP_REQUEUE on them are
// EINVAL), to the PI futex they named; the requeue wakes exactly one
// (nr_wake 1), and is EDEADLK for a waiter already owning the PI futex.
// Timeouts are absolute, either clock. Also glibc's pthread_cond_wait with
// a PTHREAD_PRIO_INHERIT mutex, which (glibc 2.36) waits on the condition
// word and relocks with FUTEX_LOCK_PI rather than requeueing.
//
//go:build ignore

#include "futex_pi_check.h"
#include <limits.h>

enum { WAITERS = 3 };

static atomic_uint cv, mu, mu2;
static atomic_int done;

static long cmp_requeue_pi(atomic_uint *to, int nr_requeue, unsigned cmp) {
	return futex(&cv, FUTEX_CMP_REQUEUE_PI_PRIVATE, 1, (void *)(long)nr_requeue, to, cmp);
}

// cond_wait waits on cv (while it holds 0) to be requeued to mu, and
// checks it then owns mu.
static void *cond_wait(void *arg) {
	(void)arg;
	long r = futex(&cv, FUTEX_WAIT_REQUEUE_PI_PRIVATE, 0, NULL, &mu, 0);
	if (r != 0)
		FAIL("FUTEX_WAIT_REQUEUE_PI (errno %d %s)", errno, errname(errno));
	unsigned w = atomic_load(&mu);
	if ((w & FUTEX_TID_MASK) != (unsigned)gettid())
		FAIL("woken without the PI futex (word %#x, tid %d)", w, gettid());
	atomic_fetch_add(&done, 1);
	pi_unlock(&mu, FUTEX_PRIVATE_FLAG);
	return NULL;
}

// requeue_all requeues (or wakes) waiters from cv to to until n moved,
// polling for waiters that have not gone to sleep yet.
static void requeue_all(atomic_uint *to, int n) {
	int moved = 0;
	for (int i = 0; moved < n; i++) {
		long r = cmp_requeue_pi(to, INT_MAX, 0);
		if (r < 0)
			FAIL("FUTEX_CMP_REQUEUE_PI (errno %d %s)", errno, errname(errno));
		moved += r;
		if (r == 0) {
			if (i > 5000)
				FAIL("requeued %d of %d waiters", moved, n);
			usleep(1000);
		}
	}
	CHECK_EQ(moved, n);
}

static void *timed(void *arg) {
	(void)arg;
	struct timespec t = abs_after(CLOCK_MONOTONIC, 20);
	CHECK_ERR(futex(&cv, FUTEX_WAIT_REQUEUE_PI_PRIVATE, 0, &t, &mu, 0), ETIMEDOUT);
	t = abs_after(CLOCK_REALTIME, 20);
	CHECK_ERR(futex(&cv, FUTEX_WAIT_REQUEUE_PI_PRIVATE | FUTEX_CLOCK_REALTIME, 0, &t, &mu, 0), ETIMEDOUT);
	return NULL;
}

// owner_waits holds mu, then waits to be requeued to it: a deadlock.
static void *owner_waits(void *arg) {
	(void)arg;
	CHECK_EQ(pi_lock(&mu, FUTEX_PRIVATE_FLAG), 0);
	struct timespec t = abs_after(CLOCK_MONOTONIC, 500);
	CHECK_ERR(futex(&cv, FUTEX_WAIT_REQUEUE_PI_PRIVATE, 0, &t, &mu, 0), ETIMEDOUT);
	pi_unlock(&mu, FUTEX_PRIVATE_FLAG);
	return NULL;
}

static pthread_mutex_t pm;
static pthread_cond_t pc = PTHREAD_COND_INITIALIZER;
static int turn;

static void *ping(void *arg) {
	int me = (int)(long)arg;
	for (int i = 0; i < 200; i++) {
		CHECK_EQ(pthread_mutex_lock(&pm), 0);
		while (turn != me)
			CHECK_EQ(pthread_cond_wait(&pc, &pm), 0);
		turn = 1 - me;
		CHECK_EQ(pthread_cond_broadcast(&pc), 0);
		CHECK_EQ(pthread_mutex_unlock(&pm), 0);
	}
	return NULL;
}

int main(void) {
	pthread_t th[WAITERS];
	unsigned tid = gettid();

	// Argument checks.
	CHECK_ERR(futex(&cv, FUTEX_WAIT_REQUEUE_PI_PRIVATE, 1, NULL, &mu, 0), EAGAIN);
	CHECK_ERR(futex(&cv, FUTEX_WAIT_REQUEUE_PI_PRIVATE, 0, NULL, &cv, 0), EINVAL);
	CHECK_ERR(futex(&cv, FUTEX_CMP_REQUEUE_PI_PRIVATE, 2, (void *)1, &mu, 0), EINVAL);
	CHECK_ERR(futex(&cv, FUTEX_CMP_REQUEUE_PI_PRIVATE, 0, (void *)1, &mu, 0), EINVAL);
	CHECK_ERR(futex(&cv, FUTEX_CMP_REQUEUE_PI_PRIVATE, 1, (void *)-1L, &mu, 0), EINVAL);
	CHECK_ERR(futex(&cv, FUTEX_CMP_REQUEUE_PI_PRIVATE, 1, (void *)1, &cv, 0), EINVAL);
	CHECK_ERR(cmp_requeue_pi(&mu, 1, 7), EAGAIN);
	CHECK_EQ(cmp_requeue_pi(&mu, 1, 0), 0); // nobody waits

	// The PI futex is free: the requeue takes it for the waiter and
	// wakes it (no FUTEX_WAITERS: nothing else was to be requeued).
	CHECK_EQ(pthread_create(&th[0], NULL, cond_wait, NULL), 0);
	for (int i = 0;; i++) {
		long r = futex(&cv, FUTEX_CMP_REQUEUE_PI_PRIVATE, 1, (void *)0, &mu, 0);
		if (r == 1)
			break;
		CHECK_EQ(r, 0);
		if (i > 5000)
			FAIL("no waiter to requeue");
		usleep(1000);
	}
	CHECK_EQ(pthread_join(th[0], NULL), 0);
	CHECK_EQ(atomic_load(&done), 1);
	CHECK_EQ(atomic_load(&mu), 0);

	// The PI futex is held: every waiter is moved to it and handed it in
	// turn by the unlocks.
	atomic_store(&done, 0);
	CHECK_EQ(pi_lock(&mu, FUTEX_PRIVATE_FLAG), 0);
	for (int i = 0; i < WAITERS; i++)
		CHECK_EQ(pthread_create(&th[i], NULL, cond_wait, NULL), 0);
	requeue_all(&mu, WAITERS);
	CHECK_EQ(atomic_load(&mu), tid | FUTEX_WAITERS);
	msleep(20);
	CHECK_EQ(atomic_load(&done), 0); // they wait for the PI futex now
	pi_unlock(&mu, FUTEX_PRIVATE_FLAG);
	for (int i = 0; i < WAITERS; i++)
		CHECK_EQ(pthread_join(th[i], NULL), 0);
	CHECK_EQ(atomic_load(&done), WAITERS);
	CHECK_EQ(atomic_load(&mu), 0);

	// Requeue-PI waiters move only with FUTEX_CMP_REQUEUE_PI, only to
	// their PI futex.
	atomic_store(&done, 0);
	CHECK_EQ(pthread_create(&th[0], NULL, cond_wait, NULL), 0);
	for (int i = 0;; i++) {
		long r = futex(&cv, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
		if (r < 0) {
			CHECK_EQ(errno, EINVAL);
			break;
		}
		CHECK_EQ(r, 0);
		if (i > 5000)
			FAIL("no waiter");
		usleep(1000);
	}
	CHECK_ERR(futex(&cv, FUTEX_CMP_REQUEUE_PRIVATE, 0, (void *)1, &mu2, 0), EINVAL);
	CHECK_ERR(futex(&cv, FUTEX_REQUEUE_PRIVATE, 0, (void *)1, &mu2, 0), EINVAL);
	CHECK_ERR(cmp_requeue_pi(&mu2, 1, 0), EINVAL);
	CHECK_EQ(cmp_requeue_pi(&mu, 0, 0), 1);
	CHECK_EQ(pthread_join(th[0], NULL), 0);
	CHECK_EQ(atomic_load(&done), 1);

	// Timeouts before any requeue.
	CHECK_EQ(pthread_create(&th[0], NULL, timed, NULL), 0);
	CHECK_EQ(pthread_join(th[0], NULL), 0);

	// A waiter that owns the PI futex cannot be requeued to it.
	CHECK_EQ(pthread_create(&th[0], NULL, owner_waits, NULL), 0);
	for (int i = 0;; i++) {
		long r = cmp_requeue_pi(&mu, 1, 0);
		if (r < 0) {
			CHECK_EQ(errno, EDEADLK);
			break;
		}
		CHECK_EQ(r, 0);
		if (i > 400) // the waiter gives up after 500 ms
			FAIL("no waiter");
		usleep(1000);
	}
	CHECK_EQ(pthread_join(th[0], NULL), 0);
	CHECK_EQ(atomic_load(&mu), 0);

	// glibc's condition variables with a PI mutex.
	pthread_mutexattr_t a;
	CHECK_EQ(pthread_mutexattr_init(&a), 0);
	CHECK_EQ(pthread_mutexattr_setprotocol(&a, PTHREAD_PRIO_INHERIT), 0);
	CHECK_EQ(pthread_mutex_init(&pm, &a), 0);
	CHECK_EQ(pthread_create(&th[0], NULL, ping, (void *)0L), 0);
	CHECK_EQ(pthread_create(&th[1], NULL, ping, (void *)1L), 0);
	CHECK_EQ(pthread_join(th[0], NULL), 0);
	CHECK_EQ(pthread_join(th[1], NULL), 0);
	return 0;
}
