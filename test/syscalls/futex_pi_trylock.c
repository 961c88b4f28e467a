// futex_pi_trylock: FUTEX_TRYLOCK_PI takes a free PI futex (keeping
// FUTEX_OWNER_DIED) and never blocks: a lock held by a live thread is
// EWOULDBLOCK, and like a blocking attempt it leaves FUTEX_WAITERS set, so
// the owner's unlock goes through the kernel; one's own lock is EDEADLK. A
// word naming a thread that exited without a robust list is ESRCH, for
// FUTEX_LOCK_PI too (FUTEX_WAITERS set all the same). glibc's
// pthread_mutex_trylock on a PTHREAD_PRIO_INHERIT mutex is EBUSY.
//
//go:build ignore

#include "futex_pi_check.h"

static atomic_uint word;
static atomic_int phase;
static atomic_int holder_tid;

static long trylock(void) { return futex(&word, FUTEX_TRYLOCK_PI_PRIVATE, 0, NULL, NULL, 0); }

// hold takes the lock, lets main try it, and releases it.
static void *hold(void *arg) {
	(void)arg;
	atomic_store(&holder_tid, gettid());
	CHECK_EQ(pi_lock(&word, FUTEX_PRIVATE_FLAG), 0);
	atomic_store(&phase, 1);
	while (atomic_load(&phase) != 2)
		usleep(1000);
	pi_unlock(&word, FUTEX_PRIVATE_FLAG);
	atomic_store(&phase, 3);
	return NULL;
}

static void *lock_blocking(void *arg) {
	(void)arg;
	CHECK_EQ(pi_lock(&word, FUTEX_PRIVATE_FLAG), 0);
	pi_unlock(&word, FUTEX_PRIVATE_FLAG);
	return NULL;
}

static atomic_int dead_tid;
static void *die_holding(void *arg) {
	(void)arg;
	unsigned zero = 0;
	CHECK(atomic_compare_exchange_strong(&word, &zero, (unsigned)gettid()));
	atomic_store(&dead_tid, gettid());
	return NULL; // no robust list entry: the word keeps the dead TID
}

int main(void) {
	unsigned tid = gettid();

	CHECK_OK(trylock());
	CHECK_EQ(atomic_load(&word), tid);
	CHECK_ERR(trylock(), EDEADLK);
	pi_unlock(&word, FUTEX_PRIVATE_FLAG);
	CHECK_EQ(atomic_load(&word), 0);

	atomic_store(&word, FUTEX_OWNER_DIED | FUTEX_WAITERS);
	CHECK_OK(trylock());
	CHECK_EQ(atomic_load(&word), tid | FUTEX_OWNER_DIED);
	atomic_store(&word, 0);

	// Held by a live thread.
	pthread_t th, th2;
	CHECK_EQ(pthread_create(&th, NULL, hold, NULL), 0);
	while (atomic_load(&phase) != 1)
		usleep(1000);
	unsigned owner = atomic_load(&holder_tid);
	CHECK_EQ(atomic_load(&word), owner);
	CHECK_ERR(trylock(), EAGAIN);
	CHECK_EQ(atomic_load(&word), owner | FUTEX_WAITERS);
	CHECK_ERR(trylock(), EAGAIN);
	// With a waiter blocked in the kernel as well.
	CHECK_EQ(pthread_create(&th2, NULL, lock_blocking, NULL), 0);
	msleep(30);
	CHECK_ERR(trylock(), EAGAIN);
	atomic_store(&phase, 2);
	CHECK_EQ(pthread_join(th, NULL), 0);
	CHECK_EQ(pthread_join(th2, NULL), 0);
	CHECK_EQ(atomic_load(&word), 0);

	// The owner is gone.
	CHECK_EQ(pthread_create(&th, NULL, die_holding, NULL), 0);
	CHECK_EQ(pthread_join(th, NULL), 0);
	unsigned dead = atomic_load(&dead_tid);
	CHECK_EQ(atomic_load(&word), dead);
	CHECK_ERR(trylock(), ESRCH);
	CHECK_EQ(atomic_load(&word), dead | FUTEX_WAITERS);
	CHECK_ERR(futex(&word, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0), ESRCH);
	CHECK_ERR(futex(&word, FUTEX_LOCK_PI2_PRIVATE, 0, NULL, NULL, 0), ESRCH);
	CHECK_EQ(atomic_load(&word), dead | FUTEX_WAITERS);

	// glibc.
	pthread_mutexattr_t a;
	static pthread_mutex_t m;
	CHECK_EQ(pthread_mutexattr_init(&a), 0);
	CHECK_EQ(pthread_mutexattr_setprotocol(&a, PTHREAD_PRIO_INHERIT), 0);
	CHECK_EQ(pthread_mutex_init(&m, &a), 0);
	CHECK_EQ(pthread_mutex_trylock(&m), 0);
	CHECK_EQ(*(volatile unsigned *)&m, tid);
	CHECK_EQ(pthread_mutex_unlock(&m), 0);
	CHECK_EQ(pthread_mutex_lock(&m), 0);
	CHECK_EQ(pthread_mutex_trylock(&m), EBUSY);
	CHECK_EQ(pthread_mutex_unlock(&m), 0);
	return 0;
}
