// futex_pi_check.h: helpers for the PI futex tests (futex_pi_*.c): the
// user-space half of the PI lock protocol, as glibc implements it for
// PTHREAD_PRIO_INHERIT mutexes, on a raw 32-bit word.
#ifndef COCOON_TEST_FUTEX_PI_CHECK_H
#define COCOON_TEST_FUTEX_PI_CHECK_H

#include "task_check.h"

// pi_lock takes the PI lock at w: the 0 -> TID cmpxchg without contention,
// FUTEX_LOCK_PI (op adds FUTEX_PRIVATE_FLAG or not) otherwise. It returns
// 0 or the errno of FUTEX_LOCK_PI.
static inline int pi_lock(atomic_uint *w, int op_flags) {
	unsigned zero = 0;
	if (atomic_compare_exchange_strong(w, &zero, (unsigned)gettid()))
		return 0;
	return futex(w, FUTEX_LOCK_PI | op_flags, 0, NULL, NULL, 0) == 0 ? 0 : errno;
}

// pi_unlock releases the PI lock at w: the TID -> 0 cmpxchg when no
// waiter is recorded, FUTEX_UNLOCK_PI otherwise (which must succeed).
static inline void pi_unlock(atomic_uint *w, int op_flags) {
	unsigned tid = (unsigned)gettid();
	if (atomic_compare_exchange_strong(w, &tid, 0))
		return;
	if (futex(w, FUTEX_UNLOCK_PI | op_flags, 0, NULL, NULL, 0) != 0)
		FAIL("FUTEX_UNLOCK_PI (word %#x, errno %d %s)", atomic_load(w), errno, errname(errno));
}

// wait_waiters waits (up to about 5 s) until the kernel has set
// FUTEX_WAITERS in w: a waiter is about to block on the lock, or did.
static inline void wait_waiters(atomic_uint *w) {
	for (int i = 0; !(atomic_load(w) & FUTEX_WAITERS); i++) {
		if (i > 5000)
			FAIL("no waiter on the PI futex (word %#x)", atomic_load(w));
		usleep(1000);
	}
}

// abs_after returns the time on clock ms milliseconds from now, for the
// absolute timeouts of the PI operations.
static inline struct timespec abs_after(clockid_t clock, long ms) {
	struct timespec t;
	clock_gettime(clock, &t);
	t.tv_nsec += (ms % 1000) * 1000000L;
	t.tv_sec += ms / 1000 + t.tv_nsec / 1000000000L;
	t.tv_nsec %= 1000000000L;
	return t;
}

#endif
