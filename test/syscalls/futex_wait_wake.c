// futex_wait_wake: FUTEX_WAIT sleeps while the word holds the expected value
// and fails with EAGAIN at once when it does not; FUTEX_WAKE wakes at most
// the requested number of waiters and returns how many it woke (0 with none
// waiting); woken waiters return 0; a misaligned address is EINVAL; waiters
// and wakers must agree on FUTEX_PRIVATE_FLAG.
//
//go:build ignore

#include "task_check.h"

enum { N = 3 };
static int word;
static atomic_int returned, woke_ok, entering;

static void *waiter(void *arg) {
	(void)arg;
	long r;
	atomic_fetch_add(&entering, 1);
	do
		r = futex(&word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		atomic_fetch_add(&woke_ok, 1);
	atomic_fetch_add(&returned, 1);
	return NULL;
}

int main(void) {
	word = 5;
	CHECK_ERR(futex(&word, FUTEX_WAIT_PRIVATE, 4, NULL, NULL, 0), EAGAIN);
	CHECK_EQ(futex(&word, FUTEX_WAKE_PRIVATE, 10, NULL, NULL, 0), 0);
	CHECK_ERR(futex((char *)&word + 1, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0), EINVAL);
	CHECK_ERR(futex(&word, 99, 0, NULL, NULL, 0), ENOSYS);

	word = 0;
	pthread_t t[N];
	for (int i = 0; i < N; i++)
		CHECK_EQ(pthread_create(&t[i], NULL, waiter, NULL), 0);
	// Wake exactly one first, and check that only one returned: wait
	// for it (a loaded machine may take a while to run it), then give
	// any other a moment to return too.
	futex_wake_n(&word, FUTEX_WAKE_PRIVATE, 1);
	for (int i = 0; atomic_load(&returned) < 1; i++) {
		CHECK(i < 5000);
		usleep(1000);
	}
	msleep(30);
	CHECK_EQ(atomic_load(&returned), 1);
	// A shared (non-private) wake does not find private waiters.
	msleep(20);
	CHECK_EQ(futex(&word, FUTEX_WAKE, 10, NULL, NULL, 0), 0);
	futex_wake_n(&word, FUTEX_WAKE_PRIVATE, N - 1);
	for (int i = 0; i < N; i++)
		CHECK_EQ(pthread_join(t[i], NULL), 0);
	CHECK_EQ(atomic_load(&woke_ok), N);
	CHECK_EQ(futex(&word, FUTEX_WAKE_PRIVATE, 10, NULL, NULL, 0), 0);

	// Wake 2 of 3 sleeping waiters at once: the count returned is exact.
	atomic_store(&returned, 0);
	atomic_store(&entering, 0);
	for (int i = 0; i < N; i++)
		CHECK_EQ(pthread_create(&t[i], NULL, waiter, NULL), 0);
	for (int i = 0; atomic_load(&entering) < N; i++) {
		CHECK(i < 5000);
		usleep(1000);
	}
	msleep(100); // from entering to sleeping is a few instructions
	CHECK_EQ(futex(&word, FUTEX_WAKE_PRIVATE, 2, NULL, NULL, 0), 2);
	msleep(30);
	CHECK_EQ(atomic_load(&returned), 2);
	CHECK_EQ(futex(&word, FUTEX_WAKE_PRIVATE, 2, NULL, NULL, 0), 1);
	for (int i = 0; i < N; i++)
		CHECK_EQ(pthread_join(t[i], NULL), 0);
	CHECK_EQ(atomic_load(&woke_ok), 2 * N);
	return 0;
}
