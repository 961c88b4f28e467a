// futex_pi_lock_unlock: the uncontended PI futex protocol. FUTEX_LOCK_PI
// (and FUTEX_LOCK_PI2) on a free word writes the caller's TID, keeping
// FUTEX_OWNER_DIED and dropping a stale FUTEX_WAITERS; locking a futex one
// owns is EDEADLK; FUTEX_UNLOCK_PI by a non-owner is EPERM, by the owner
// clears the word. Argument checks: an unaligned word is EINVAL, an
// unmapped one EFAULT, a bad timeout EINVAL (not read by FUTEX_TRYLOCK_PI),
// FUTEX_CLOCK_REALTIME ENOSYS except with FUTEX_LOCK_PI2. A glibc
// PTHREAD_PRIO_INHERIT mutex (which probes the kernel with FUTEX_UNLOCK_PI)
// works, error-checking included.
//
//go:build ignore

#include "futex_pi_check.h"

static atomic_uint word;

static long op(int cmd, const struct timespec *ts) {
	return futex(&word, cmd | FUTEX_PRIVATE_FLAG, 0, ts, NULL, 0);
}

static pid_t other_tid;
static atomic_int other_go;

static void *other(void *arg) {
	(void)arg;
	other_tid = gettid();
	while (!atomic_load(&other_go))
		usleep(1000);
	return NULL;
}

int main(void) {
	unsigned tid = gettid();

	// Not the owner: EPERM, whatever the word holds.
	CHECK_ERR(op(FUTEX_UNLOCK_PI, NULL), EPERM);
	pthread_t th;
	CHECK_EQ(pthread_create(&th, NULL, other, NULL), 0);
	while (!other_tid)
		usleep(1000);
	atomic_store(&word, other_tid);
	CHECK_ERR(op(FUTEX_UNLOCK_PI, NULL), EPERM);
	CHECK_EQ(atomic_load(&word), (unsigned)other_tid);
	atomic_store(&other_go, 1);
	CHECK_EQ(pthread_join(th, NULL), 0);

	// Lock, relock, unlock.
	atomic_store(&word, 0);
	CHECK_OK(op(FUTEX_LOCK_PI, NULL));
	CHECK_EQ(atomic_load(&word), tid);
	CHECK_ERR(op(FUTEX_LOCK_PI, NULL), EDEADLK);
	CHECK_ERR(op(FUTEX_LOCK_PI2, NULL), EDEADLK);
	CHECK_ERR(op(FUTEX_TRYLOCK_PI, NULL), EDEADLK);
	CHECK_EQ(atomic_load(&word), tid);
	CHECK_OK(op(FUTEX_UNLOCK_PI, NULL));
	CHECK_EQ(atomic_load(&word), 0);
	CHECK_ERR(op(FUTEX_UNLOCK_PI, NULL), EPERM);

	// A free word with the owner-died bit: taken, the bit kept; a stale
	// waiters bit is dropped.
	atomic_store(&word, FUTEX_OWNER_DIED);
	CHECK_OK(op(FUTEX_LOCK_PI, NULL));
	CHECK_EQ(atomic_load(&word), tid | FUTEX_OWNER_DIED);
	CHECK_OK(op(FUTEX_UNLOCK_PI, NULL));
	CHECK_EQ(atomic_load(&word), 0);
	atomic_store(&word, FUTEX_WAITERS);
	CHECK_OK(op(FUTEX_LOCK_PI2, NULL));
	CHECK_EQ(atomic_load(&word), tid);
	// Unlocking with the waiters and owner-died bits set and no waiter
	// in the kernel clears the whole word.
	atomic_store(&word, tid | FUTEX_WAITERS | FUTEX_OWNER_DIED);
	CHECK_OK(op(FUTEX_UNLOCK_PI, NULL));
	CHECK_EQ(atomic_load(&word), 0);

	// Timeouts are read and checked before anything else, except by
	// FUTEX_TRYLOCK_PI, which has none.
	struct timespec bad = {0, 2000000000L};
	CHECK_ERR(op(FUTEX_LOCK_PI, &bad), EINVAL);
	CHECK_ERR(op(FUTEX_LOCK_PI2, &bad), EINVAL);
	CHECK_EQ(atomic_load(&word), 0);
	CHECK_OK(op(FUTEX_TRYLOCK_PI, &bad));
	CHECK_EQ(atomic_load(&word), tid);
	CHECK_OK(op(FUTEX_UNLOCK_PI, NULL));
	// A timeout does not matter when the lock is free.
	struct timespec past = {1, 0};
	CHECK_OK(op(FUTEX_LOCK_PI, &past));
	CHECK_OK(op(FUTEX_UNLOCK_PI, NULL));

	// FUTEX_CLOCK_REALTIME only goes with FUTEX_LOCK_PI2 (FUTEX_LOCK_PI's
	// timeout is always CLOCK_REALTIME).
	CHECK_ERR(op(FUTEX_LOCK_PI | FUTEX_CLOCK_REALTIME, NULL), ENOSYS);
	CHECK_ERR(op(FUTEX_TRYLOCK_PI | FUTEX_CLOCK_REALTIME, NULL), ENOSYS);
	CHECK_ERR(op(FUTEX_UNLOCK_PI | FUTEX_CLOCK_REALTIME, NULL), ENOSYS);
	CHECK_OK(op(FUTEX_LOCK_PI2 | FUTEX_CLOCK_REALTIME, NULL));
	CHECK_EQ(atomic_load(&word), tid);
	CHECK_OK(op(FUTEX_UNLOCK_PI, NULL));

	// Bad addresses. An unaligned word cannot be a lock; unlocking one
	// reads it first, and the caller does not own what it finds.
	CHECK_ERR(futex((char *)&word + 1, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0), EINVAL);
	CHECK_ERR(futex((char *)&word + 1, FUTEX_TRYLOCK_PI_PRIVATE, 0, NULL, NULL, 0), EINVAL);
	CHECK_ERR(futex((char *)&word + 1, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0), EPERM);
	CHECK_ERR(futex(bad_addr(), FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0), EFAULT);
	CHECK_ERR(futex(bad_addr(), FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0), EFAULT);
	CHECK_ERR(futex(bad_addr(), FUTEX_LOCK_PI, 0, NULL, NULL, 0), EFAULT);

	// glibc's priority-inheritance mutexes.
	pthread_mutexattr_t a;
	pthread_mutex_t m;
	CHECK_EQ(pthread_mutexattr_init(&a), 0);
	CHECK_EQ(pthread_mutexattr_setprotocol(&a, PTHREAD_PRIO_INHERIT), 0);
	CHECK_EQ(pthread_mutex_init(&m, &a), 0);
	CHECK_EQ(pthread_mutex_lock(&m), 0);
	CHECK_EQ(*(volatile unsigned *)&m, tid); // __lock is the first member
	CHECK_EQ(pthread_mutex_trylock(&m), EBUSY);
	CHECK_EQ(pthread_mutex_unlock(&m), 0);
	CHECK_EQ(*(volatile unsigned *)&m, 0);
	CHECK_EQ(pthread_mutex_destroy(&m), 0);
	CHECK_EQ(pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK), 0);
	CHECK_EQ(pthread_mutex_init(&m, &a), 0);
	CHECK_EQ(pthread_mutex_lock(&m), 0);
	CHECK_EQ(pthread_mutex_lock(&m), EDEADLK);
	CHECK_EQ(pthread_mutex_unlock(&m), 0);
	CHECK_EQ(pthread_mutex_unlock(&m), EPERM);
	return 0;
}
