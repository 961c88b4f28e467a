// futex_pi_owner_died: a thread exiting while it holds PI futexes. The
// robust list marks each robust lock it holds, PI (entries with the low
// bit set) or not, FUTEX_OWNER_DIED with the TID cleared; the kernel then
// hands each PI futex that has a waiter to that waiter, which finds its
// TID, FUTEX_WAITERS and FUTEX_OWNER_DIED in the word: for a lock not on
// the robust list too. glibc turns that into EOWNERDEAD for a robust
// PTHREAD_PRIO_INHERIT mutex, which pthread_mutex_consistent repairs.
//
//go:build ignore

#include "futex_pi_check.h"

static pthread_mutex_t pi_a, pi_b, plain;
static atomic_int locked;

static void init(pthread_mutex_t *m, int pi) {
	pthread_mutexattr_t a;
	CHECK_EQ(pthread_mutexattr_init(&a), 0);
	CHECK_EQ(pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST), 0);
	if (pi)
		CHECK_EQ(pthread_mutexattr_setprotocol(&a, PTHREAD_PRIO_INHERIT), 0);
	CHECK_EQ(pthread_mutex_init(m, &a), 0);
}

static unsigned lock_word(pthread_mutex_t *m) { return atomic_load((atomic_uint *)m); }

// die_holding_all exits holding three robust mutexes, two of them PI.
static void *die_holding_all(void *arg) {
	(void)arg;
	CHECK_EQ(pthread_mutex_lock(&pi_a), 0);
	CHECK_EQ(pthread_mutex_lock(&plain), 0);
	CHECK_EQ(pthread_mutex_lock(&pi_b), 0);
	return NULL;
}

// die_when_waited exits holding pi_a once someone blocks on it.
static void *die_when_waited(void *arg) {
	(void)arg;
	CHECK_EQ(pthread_mutex_lock(&pi_a), 0);
	atomic_store(&locked, 1);
	wait_waiters((atomic_uint *)&pi_a);
	msleep(20); // let the waiter go to sleep
	return NULL;
}

static atomic_uint raw;
// raw_die_when_waited takes the raw PI word (no robust list) and exits
// once someone blocks on it.
static void *raw_die_when_waited(void *arg) {
	(void)arg;
	CHECK_EQ(pi_lock(&raw, FUTEX_PRIVATE_FLAG), 0);
	atomic_store(&locked, 1);
	wait_waiters(&raw);
	msleep(20);
	return NULL;
}

int main(void) {
	unsigned tid = gettid();
	init(&pi_a, 1);
	init(&pi_b, 1);
	init(&plain, 0);

	// No waiters: the words are marked, the TIDs cleared.
	pthread_t th;
	CHECK_EQ(pthread_create(&th, NULL, die_holding_all, NULL), 0);
	CHECK_EQ(pthread_join(th, NULL), 0);
	CHECK_EQ(lock_word(&pi_a), FUTEX_OWNER_DIED);
	CHECK_EQ(lock_word(&pi_b), FUTEX_OWNER_DIED);
	CHECK_EQ(lock_word(&plain), FUTEX_OWNER_DIED);
	// FUTEX_LOCK_PI takes a word with no TID, keeping the bit.
	CHECK_EQ(pthread_mutex_lock(&pi_a), EOWNERDEAD);
	CHECK_EQ(lock_word(&pi_a), tid); // glibc cleared the bit
	CHECK_EQ(pthread_mutex_consistent(&pi_a), 0);
	CHECK_EQ(pthread_mutex_unlock(&pi_a), 0);
	CHECK_EQ(lock_word(&pi_a), 0);
	CHECK_EQ(pthread_mutex_lock(&pi_a), 0);
	CHECK_EQ(pthread_mutex_unlock(&pi_a), 0);
	CHECK_EQ(pthread_mutex_trylock(&pi_b), EOWNERDEAD);
	CHECK_EQ(pthread_mutex_consistent(&pi_b), 0);
	CHECK_EQ(pthread_mutex_unlock(&pi_b), 0);
	CHECK_EQ(pthread_mutex_lock(&plain), EOWNERDEAD);
	CHECK_EQ(pthread_mutex_consistent(&plain), 0);
	CHECK_EQ(pthread_mutex_unlock(&plain), 0);

	// A waiter blocked in the kernel is handed the lock at the exit.
	atomic_store(&locked, 0);
	CHECK_EQ(pthread_create(&th, NULL, die_when_waited, NULL), 0);
	while (!atomic_load(&locked))
		usleep(1000);
	CHECK_EQ(pthread_mutex_lock(&pi_a), EOWNERDEAD);
	CHECK_EQ(lock_word(&pi_a), tid | FUTEX_WAITERS);
	CHECK_EQ(pthread_mutex_consistent(&pi_a), 0);
	CHECK_EQ(pthread_mutex_unlock(&pi_a), 0);
	CHECK_EQ(lock_word(&pi_a), 0);
	CHECK_EQ(pthread_join(th, NULL), 0);

	// Not robust at all: the waiter still gets the lock, told by the bit
	// that its owner died.
	atomic_store(&locked, 0);
	CHECK_EQ(pthread_create(&th, NULL, raw_die_when_waited, NULL), 0);
	while (!atomic_load(&locked))
		usleep(1000);
	CHECK_OK(futex(&raw, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0));
	CHECK_EQ(atomic_load(&raw), tid | FUTEX_WAITERS | FUTEX_OWNER_DIED);
	CHECK_OK(futex(&raw, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0));
	CHECK_EQ(atomic_load(&raw), 0);
	CHECK_EQ(pthread_join(th, NULL), 0);
	return 0;
}
