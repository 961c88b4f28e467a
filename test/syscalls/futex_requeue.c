// futex_requeue: FUTEX_CMP_REQUEUE wakes nr_wake waiters of one futex and
// moves up to nr_requeue others to a second futex (returning the sum), only
// if the first word still holds val3 (else EAGAIN); requeued waiters are
// woken by FUTEX_WAKE on the second word, not the first; FUTEX_REQUEUE does
// the same without the comparison.
//
//go:build ignore

#include "task_check.h"
#include <limits.h>

enum { N = 3 };
static int f1, f2, f3;
static atomic_int returned;

static void *waiter(void *arg) {
	(void)arg;
	long r;
	do
		r = futex(&f1, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
	while (r < 0 && errno == EINTR);
	if (r != 0)
		FAIL("FUTEX_WAIT (errno %d %s)", errno, errname(errno));
	atomic_fetch_add(&returned, 1);
	return NULL;
}

static long requeue(int op, int *from, int nr_wake, long nr_requeue, int *to, int val3) {
	return futex(from, op | FUTEX_PRIVATE_FLAG, nr_wake, (struct timespec *)nr_requeue, to, val3);
}

int main(void) {
	CHECK_ERR(requeue(FUTEX_CMP_REQUEUE, &f1, 0, INT_MAX, &f2, 1), EAGAIN); // f1 is 0, not 1
	CHECK_EQ(requeue(FUTEX_CMP_REQUEUE, &f1, 1, INT_MAX, &f2, 0), 0);       // nobody waits

	pthread_t t[N];
	for (int i = 0; i < N; i++)
		CHECK_EQ(pthread_create(&t[i], NULL, waiter, NULL), 0);
	// Move them to f2 as they fall asleep, until all three are there.
	int moved = 0;
	for (int i = 0; moved < N; i++) {
		CHECK(i < 5000);
		long r = requeue(FUTEX_CMP_REQUEUE, &f1, 0, INT_MAX, &f2, 0);
		CHECK(r >= 0);
		moved += r;
		if (moved < N)
			usleep(1000);
	}
	CHECK_EQ(moved, N);
	CHECK_EQ(futex(&f1, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0), 0); // none left on f1
	msleep(20);
	CHECK_EQ(atomic_load(&returned), 0);

	CHECK_EQ(futex(&f2, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0), 1);
	for (int i = 0; atomic_load(&returned) < 1; i++) {
		CHECK(i < 5000);
		usleep(1000);
	}
	// Plain FUTEX_REQUEUE: wake one, move one to f3.
	CHECK_EQ(requeue(FUTEX_REQUEUE, &f2, 1, 1, &f3, 0), 2);
	for (int i = 0; atomic_load(&returned) < 2; i++) {
		CHECK(i < 5000);
		usleep(1000);
	}
	msleep(20);
	CHECK_EQ(atomic_load(&returned), 2);
	CHECK_EQ(futex(&f2, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0), 0);
	CHECK_EQ(futex(&f3, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0), 1);
	for (int i = 0; i < N; i++)
		CHECK_EQ(pthread_join(t[i], NULL), 0);
	CHECK_EQ(atomic_load(&returned), N);
	return 0;
}
