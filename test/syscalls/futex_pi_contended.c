// futex_pi_contended: PI futexes between threads. A waiter sets
// FUTEX_WAITERS and blocks in FUTEX_LOCK_PI; FUTEX_UNLOCK_PI hands the lock
// straight to it (the word holds the waiter's TID and FUTEX_WAITERS before
// the waiter runs). Many threads counting under the lock lose no update.
// FUTEX_LOCK_PI's absolute timeout is on CLOCK_REALTIME, FUTEX_LOCK_PI2's
// on CLOCK_MONOTONIC unless FUTEX_CLOCK_REALTIME; a signal handler runs
// during the wait and the lock attempt then resumes (no EINTR); an ABBA
// deadlock between two PI futexes is EDEADLK. glibc's PTHREAD_PRIO_INHERIT
// mutexes (lock, timedlock, clocklock) work on top.
//
//go:build ignore

#include "futex_pi_check.h"

enum { THREADS = 4, ROUNDS = 1000 };

static atomic_uint lock1, lock2;
static long counter;

static void *count(void *arg) {
	(void)arg;
	for (int i = 0; i < ROUNDS; i++) {
		int e = pi_lock(&lock1, FUTEX_PRIVATE_FLAG);
		if (e)
			FAIL("pi_lock: errno %d %s", e, errname(e));
		counter++;
		if (i % 64 == 0)
			sched_yield(); // holding it: others block in the kernel
		pi_unlock(&lock1, FUTEX_PRIVATE_FLAG);
	}
	return NULL;
}

static atomic_uint seen;
static atomic_int waiter_tid;

// take_once blocks in FUTEX_LOCK_PI and records the word it then sees.
static void *take_once(void *arg) {
	(void)arg;
	atomic_store(&waiter_tid, gettid());
	int e = pi_lock(&lock1, FUTEX_PRIVATE_FLAG);
	if (e)
		FAIL("pi_lock: errno %d %s", e, errname(e));
	atomic_store(&seen, atomic_load(&lock1));
	pi_unlock(&lock1, FUTEX_PRIVATE_FLAG);
	return NULL;
}

static void *timeouts(void *arg) {
	(void)arg;
	struct timespec t = abs_after(CLOCK_REALTIME, 30);
	CHECK_ERR(futex(&lock1, FUTEX_LOCK_PI_PRIVATE, 0, &t, NULL, 0), ETIMEDOUT);
	t = abs_after(CLOCK_MONOTONIC, 30);
	CHECK_ERR(futex(&lock1, FUTEX_LOCK_PI2_PRIVATE, 0, &t, NULL, 0), ETIMEDOUT);
	t = abs_after(CLOCK_REALTIME, 30);
	CHECK_ERR(futex(&lock1, FUTEX_LOCK_PI2_PRIVATE | FUTEX_CLOCK_REALTIME, 0, &t, NULL, 0), ETIMEDOUT);
	// Already past: the lock is held, so it times out at once.
	struct timespec past = {1, 0};
	CHECK_ERR(futex(&lock1, FUTEX_LOCK_PI_PRIVATE, 0, &past, NULL, 0), ETIMEDOUT);
	return NULL;
}

static atomic_int handled;
static void on_usr1(int sig, siginfo_t *si, void *uc) {
	(void)sig, (void)si, (void)uc;
	atomic_store(&handled, 1);
}

// abba holds lock2, then waits for lock1, which main holds.
static atomic_int abba_holds;
static void *abba(void *arg) {
	(void)arg;
	CHECK_EQ(pi_lock(&lock2, FUTEX_PRIVATE_FLAG), 0);
	atomic_store(&abba_holds, 1);
	CHECK_EQ(pi_lock(&lock1, FUTEX_PRIVATE_FLAG), 0);
	pi_unlock(&lock1, FUTEX_PRIVATE_FLAG);
	pi_unlock(&lock2, FUTEX_PRIVATE_FLAG);
	return NULL;
}

static pthread_mutex_t pm;
static void *pthread_count(void *arg) {
	(void)arg;
	for (int i = 0; i < ROUNDS; i++) {
		CHECK_EQ(pthread_mutex_lock(&pm), 0);
		counter++;
		if (i % 64 == 0)
			sched_yield();
		CHECK_EQ(pthread_mutex_unlock(&pm), 0);
	}
	return NULL;
}

static void *pthread_timeouts(void *arg) {
	(void)arg;
	struct timespec t = abs_after(CLOCK_REALTIME, 30);
	CHECK_EQ(pthread_mutex_timedlock(&pm, &t), ETIMEDOUT);
	t = abs_after(CLOCK_MONOTONIC, 30);
	CHECK_EQ(pthread_mutex_clocklock(&pm, CLOCK_MONOTONIC, &t), ETIMEDOUT);
	return NULL;
}

int main(void) {
	pthread_t th[THREADS];
	unsigned tid = gettid();

	// Hand-over on unlock.
	CHECK_EQ(pi_lock(&lock1, FUTEX_PRIVATE_FLAG), 0);
	CHECK_EQ(pthread_create(&th[0], NULL, take_once, NULL), 0);
	wait_waiters(&lock1);
	CHECK_EQ(atomic_load(&lock1), tid | FUTEX_WAITERS);
	CHECK_OK(futex(&lock1, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0));
	unsigned w = atomic_load(&lock1);
	// Either the new owner still holds it, or it already released it.
	CHECK(w == ((unsigned)atomic_load(&waiter_tid) | FUTEX_WAITERS) || w == 0);
	CHECK_EQ(pthread_join(th[0], NULL), 0);
	CHECK_EQ(atomic_load(&seen), (unsigned)atomic_load(&waiter_tid) | FUTEX_WAITERS);
	CHECK_EQ(atomic_load(&lock1), 0);

	// Mutual exclusion under contention.
	for (int i = 0; i < THREADS; i++)
		CHECK_EQ(pthread_create(&th[i], NULL, count, NULL), 0);
	for (int i = 0; i < THREADS; i++)
		CHECK_EQ(pthread_join(th[i], NULL), 0);
	CHECK_EQ(counter, (long)THREADS * ROUNDS);
	CHECK_EQ(atomic_load(&lock1), 0);

	// Timeouts on both clocks while main holds the lock; the waiters bit
	// the timed-out waiter left sends main's unlock to the kernel.
	CHECK_EQ(pi_lock(&lock1, FUTEX_PRIVATE_FLAG), 0);
	CHECK_EQ(pthread_create(&th[0], NULL, timeouts, NULL), 0);
	CHECK_EQ(pthread_join(th[0], NULL), 0);
	CHECK_EQ(atomic_load(&lock1), tid | FUTEX_WAITERS);
	pi_unlock(&lock1, FUTEX_PRIVATE_FLAG);
	CHECK_EQ(atomic_load(&lock1), 0);

	// A signal during the wait runs its handler, then the wait goes on
	// until the lock is handed over: FUTEX_LOCK_PI does not fail EINTR.
	install(SIGUSR1, on_usr1, 0);
	CHECK_EQ(pi_lock(&lock1, FUTEX_PRIVATE_FLAG), 0);
	CHECK_EQ(pthread_create(&th[0], NULL, take_once, NULL), 0);
	wait_waiters(&lock1);
	msleep(20);
	CHECK_EQ(pthread_kill(th[0], SIGUSR1), 0);
	for (int i = 0; !atomic_load(&handled); i++) {
		if (i > 5000)
			FAIL("SIGUSR1 not handled");
		usleep(1000);
	}
	msleep(20);
	CHECK_EQ(atomic_load(&lock1), tid | FUTEX_WAITERS); // still waiting
	pi_unlock(&lock1, FUTEX_PRIVATE_FLAG);
	CHECK_EQ(pthread_join(th[0], NULL), 0);
	CHECK_EQ(atomic_load(&seen), (unsigned)atomic_load(&waiter_tid) | FUTEX_WAITERS);

	// ABBA: the other thread holds lock2 and waits for lock1, which main
	// holds; main waiting for lock2 would never end.
	CHECK_EQ(pi_lock(&lock1, FUTEX_PRIVATE_FLAG), 0);
	CHECK_EQ(pthread_create(&th[0], NULL, abba, NULL), 0);
	wait_waiters(&lock1);
	msleep(20); // Linux sets the bit just before queueing the waiter
	CHECK(atomic_load(&abba_holds));
	CHECK_EQ(pi_lock(&lock2, FUTEX_PRIVATE_FLAG), EDEADLK);
	pi_unlock(&lock1, FUTEX_PRIVATE_FLAG);
	CHECK_EQ(pthread_join(th[0], NULL), 0);
	CHECK_EQ(atomic_load(&lock1), 0);
	CHECK_EQ(atomic_load(&lock2), 0);

	// glibc's PI mutexes.
	pthread_mutexattr_t a;
	CHECK_EQ(pthread_mutexattr_init(&a), 0);
	CHECK_EQ(pthread_mutexattr_setprotocol(&a, PTHREAD_PRIO_INHERIT), 0);
	CHECK_EQ(pthread_mutex_init(&pm, &a), 0);
	counter = 0;
	for (int i = 0; i < THREADS; i++)
		CHECK_EQ(pthread_create(&th[i], NULL, pthread_count, NULL), 0);
	for (int i = 0; i < THREADS; i++)
		CHECK_EQ(pthread_join(th[i], NULL), 0);
	CHECK_EQ(counter, (long)THREADS * ROUNDS);
	CHECK_EQ(pthread_mutex_lock(&pm), 0);
	CHECK_EQ(pthread_create(&th[0], NULL, pthread_timeouts, NULL), 0);
	CHECK_EQ(pthread_join(th[0], NULL), 0);
	CHECK_EQ(pthread_mutex_unlock(&pm), 0);
	CHECK_EQ(*(volatile unsigned *)&pm, 0);
	return 0;
}
