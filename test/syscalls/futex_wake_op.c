// futex_wake_op: FUTEX_WAKE_OP atomically applies an operation (SET, ADD,
// OR, ANDN, XOR; oparg optionally 1 << oparg) to the second word, wakes
// nr_wake waiters of the first, and, if the comparison of the second word's
// old value holds, also nr_wake2 waiters of the second; it returns the total
// woken. Unknown operations are ENOSYS.
//
//go:build ignore

#include "task_check.h"
#include <limits.h>

static int w1, w2;
static atomic_int woke1, woke2, entering;

static void *wait1(void *arg) {
	(void)arg;
	atomic_fetch_add(&entering, 1);
	while (futex(&w1, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0) != 0 && errno == EINTR)
		;
	atomic_fetch_add(&woke1, 1);
	return NULL;
}

static void *wait2(void *arg) {
	int expect = (int)(long)arg;
	atomic_fetch_add(&entering, 1);
	while (futex(&w2, FUTEX_WAIT_PRIVATE, expect, NULL, NULL, 0) != 0 && errno == EINTR)
		;
	atomic_fetch_add(&woke2, 1);
	return NULL;
}

static long wake_op(int nr1, int nr2, int op) {
	return futex(&w1, FUTEX_WAKE_OP_PRIVATE, nr1, (struct timespec *)(long)nr2, &w2, op);
}

int main(void) {
	// The operations alone (no waiters): return 0, change w2.
	w2 = 5;
	CHECK_EQ(wake_op(1, 1, FUTEX_OP(FUTEX_OP_ADD, 3, FUTEX_OP_CMP_EQ, 0)), 0);
	CHECK_EQ(w2, 8);
	CHECK_EQ(wake_op(1, 1, FUTEX_OP(FUTEX_OP_OR, 0x30, FUTEX_OP_CMP_EQ, 0)), 0);
	CHECK_EQ(w2, 0x38);
	CHECK_EQ(wake_op(1, 1, FUTEX_OP(FUTEX_OP_ANDN, 0x8, FUTEX_OP_CMP_EQ, 0)), 0);
	CHECK_EQ(w2, 0x30);
	CHECK_EQ(wake_op(1, 1, FUTEX_OP(FUTEX_OP_XOR, 0xff, FUTEX_OP_CMP_EQ, 0)), 0);
	CHECK_EQ(w2, 0xcf);
	CHECK_EQ(wake_op(1, 1, FUTEX_OP((FUTEX_OP_SET | FUTEX_OP_OPARG_SHIFT), 4, FUTEX_OP_CMP_EQ, 0)), 0);
	CHECK_EQ(w2, 16); // 1 << 4
	CHECK_ERR(wake_op(1, 1, (7 << 28) | (1 << 12)), ENOSYS);

	// One waiter on each word; the comparison decides about w2's.
	w1 = 0;
	w2 = 0;
	pthread_t a, b;
	CHECK_EQ(pthread_create(&a, NULL, wait1, NULL), 0);
	CHECK_EQ(pthread_create(&b, NULL, wait2, (void *)0), 0);
	for (int i = 0; atomic_load(&entering) < 2; i++) {
		CHECK(i < 5000);
		usleep(1000);
	}
	msleep(100); // from entering to sleeping is a few instructions
	// old w2 (0) > 0 is false: only w1's waiter is woken; w2 becomes 1.
	long r = wake_op(1, 1, FUTEX_OP(FUTEX_OP_SET, 1, FUTEX_OP_CMP_GT, 0));
	CHECK_EQ(r, 1);
	CHECK_EQ(pthread_join(a, NULL), 0);
	CHECK_EQ(atomic_load(&woke1), 1);
	msleep(20);
	CHECK_EQ(atomic_load(&woke2), 0);
	CHECK_EQ(w2, 1);
	// old w2 (1) == 1: the w2 waiter is woken too.
	CHECK_EQ(wake_op(1, 1, FUTEX_OP(FUTEX_OP_SET, 2, FUTEX_OP_CMP_EQ, 1)), 1);
	CHECK_EQ(pthread_join(b, NULL), 0);
	CHECK_EQ(atomic_load(&woke2), 1);
	CHECK_EQ(w2, 2);
	return 0;
}
