// futex_waitv: futex_waitv(2) sleeps on up to 128 32-bit futexes at once
// and returns the index of the one woken; FUTEX_WAKE on any of the words
// wakes it (private entries by private wakes, shared ones by shared
// wakes), and FUTEX_CMP_REQUEUE moves an entry to another word like any
// waiter. A word not holding its value is EAGAIN; the timeout is absolute
// on CLOCK_MONOTONIC or CLOCK_REALTIME (ETIMEDOUT). EINVAL: flags, no
// entries or more than 128, a NULL array, an entry without FUTEX2_SIZE_U32
// or with another size, unknown flags or reserved bits, a value wider than
// 32 bits, an unaligned word, another clock; an unmapped word is EFAULT.
//
//go:build ignore

#include "task_check.h"

#define FUTEX2_PRIVATE FUTEX_PRIVATE_FLAG

enum { N = 4 };

static atomic_uint words[FUTEX_WAITV_MAX];
static struct futex_waitv wv[FUTEX_WAITV_MAX];

static long waitv(struct futex_waitv *w, unsigned n, unsigned flags, struct timespec *ts, clockid_t clock) {
	return syscall(SYS_futex_waitv, w, n, flags, ts, clock);
}

static void fill(int n, unsigned flags) {
	for (int i = 0; i < n; i++) {
		wv[i] = (struct futex_waitv){.val = 0, .uaddr = (uintptr_t)&words[i], .flags = FUTEX_32 | flags};
		atomic_store(&words[i], 0);
	}
}

static int count = N;
static atomic_long result = -100;

static void *wait_thread(void *arg) {
	(void)arg;
	long r = waitv(wv, count, 0, NULL, 0);
	atomic_store(&result, r < 0 ? -errno : r);
	return NULL;
}

// wake_index starts a waiter on the first count words and wakes it
// through word i (with op), which must make futex_waitv return i.
static void wake_index(int i, int op) {
	pthread_t th;
	atomic_store(&result, -100);
	CHECK_EQ(pthread_create(&th, NULL, wait_thread, NULL), 0);
	futex_wake_n(&words[i], op, 1);
	CHECK_EQ(pthread_join(th, NULL), 0);
	CHECK_EQ(atomic_load(&result), i);
}

// after returns the time on clock ms milliseconds from now.
static struct timespec after(clockid_t clock, long ms) {
	long long ns = now_ns(clock) + ms * 1000000LL;
	return (struct timespec){ns / 1000000000LL, ns % 1000000000LL};
}

static void check_einval(const char *what, struct futex_waitv e) {
	struct futex_waitv one[2] = {wv[0], e};
	errno = 0;
	if (waitv(one, 2, 0, NULL, 0) != -1 || errno != EINVAL)
		FAIL("%s: got errno %d %s, want EINVAL", what, errno, errname(errno));
}

int main(void) {
	// Each index wakes the waiter, which reports it.
	fill(N, FUTEX2_PRIVATE);
	for (int i = 0; i < N; i++)
		wake_index(i, FUTEX_WAKE_PRIVATE);
	// Shared entries are woken by shared wakes only.
	fill(N, 0);
	wake_index(2, FUTEX_WAKE);
	CHECK_EQ(futex(&words[1], FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0), 0);
	// All 128.
	fill(FUTEX_WAITV_MAX, FUTEX2_PRIVATE);
	count = FUTEX_WAITV_MAX;
	wake_index(FUTEX_WAITV_MAX - 1, FUTEX_WAKE_PRIVATE);
	wake_index(64, FUTEX_WAKE_PRIVATE);
	count = N;

	// Requeued to another word, the entry is woken there.
	static atomic_uint other;
	fill(N, FUTEX2_PRIVATE);
	pthread_t th;
	atomic_store(&result, -100);
	CHECK_EQ(pthread_create(&th, NULL, wait_thread, NULL), 0);
	for (int i = 0;; i++) {
		long r = futex(&words[3], FUTEX_CMP_REQUEUE_PRIVATE, 0, (void *)1, &other, 0);
		CHECK(r >= 0);
		if (r == 1)
			break;
		if (i > 5000)
			FAIL("no waiter to requeue");
		usleep(1000);
	}
	CHECK_EQ(futex(&words[3], FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0), 0);
	CHECK_EQ(futex(&other, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0), 1);
	CHECK_EQ(pthread_join(th, NULL), 0);
	CHECK_EQ(atomic_load(&result), 3);

	// Values.
	fill(N, FUTEX2_PRIVATE);
	atomic_store(&words[2], 7);
	CHECK_ERR(waitv(wv, N, 0, NULL, 0), EAGAIN);
	wv[2].val = 7;
	atomic_store(&words[3], 1);
	CHECK_ERR(waitv(wv, N, 0, NULL, 0), EAGAIN);

	// Timeouts: absolute, on either clock; the clock is only checked
	// when there is a timeout.
	fill(N, FUTEX2_PRIVATE);
	long long start = now_ns(CLOCK_MONOTONIC);
	struct timespec t = after(CLOCK_MONOTONIC, 20);
	CHECK_ERR(waitv(wv, N, 0, &t, CLOCK_MONOTONIC), ETIMEDOUT);
	CHECK(now_ns(CLOCK_MONOTONIC) - start >= 20000000);
	t = after(CLOCK_REALTIME, 20);
	CHECK_ERR(waitv(wv, N, 0, &t, CLOCK_REALTIME), ETIMEDOUT);
	struct timespec past = {1, 0};
	CHECK_ERR(waitv(wv, N, 0, &past, CLOCK_MONOTONIC), ETIMEDOUT);
	CHECK_ERR(waitv(wv, N, 0, &past, CLOCK_BOOTTIME), EINVAL);
	CHECK_ERR(waitv(wv, N, 0, &past, CLOCK_PROCESS_CPUTIME_ID), EINVAL);
	struct timespec bad = {0, 1000000000};
	CHECK_ERR(waitv(wv, N, 0, &bad, CLOCK_MONOTONIC), EINVAL);
	CHECK_ERR(waitv(wv, N, 0, bad_addr(), CLOCK_MONOTONIC), EFAULT);
	atomic_store(&words[0], 1);
	CHECK_ERR(waitv(wv, N, 0, NULL, CLOCK_BOOTTIME), EAGAIN);
	atomic_store(&words[0], 0);

	// Arguments.
	CHECK_ERR(waitv(wv, N, 1, &past, CLOCK_MONOTONIC), EINVAL);
	CHECK_ERR(waitv(wv, 0, 0, &past, CLOCK_MONOTONIC), EINVAL);
	CHECK_ERR(waitv(wv, FUTEX_WAITV_MAX + 1, 0, &past, CLOCK_MONOTONIC), EINVAL);
	CHECK_ERR(waitv(NULL, N, 0, &past, CLOCK_MONOTONIC), EINVAL);
	CHECK_ERR(waitv(bad_addr(), N, 0, &past, CLOCK_MONOTONIC), EFAULT);
	struct futex_waitv e = wv[1];
	e.flags = FUTEX2_PRIVATE; // no size
	check_einval("no size", e);
	e.flags = 0;
	check_einval("no flags", e);
	e.flags = 3 | FUTEX2_PRIVATE; // FUTEX2_SIZE_U64
	check_einval("64-bit", e);
	e.flags = 1 | FUTEX2_PRIVATE; // FUTEX2_SIZE_U16
	check_einval("16-bit", e);
	e.flags = FUTEX_32 | 0x100;
	check_einval("unknown flag", e);
	e = wv[1];
	e.__reserved = 1;
	check_einval("reserved", e);
	e = wv[1];
	e.val = 1ULL << 32;
	check_einval("wide value", e);
	e = wv[1];
	e.uaddr += 1;
	check_einval("unaligned", e);
	e = wv[1];
	e.uaddr = (uintptr_t)bad_addr();
	struct futex_waitv one[2] = {wv[0], e};
	CHECK_ERR(waitv(one, 2, 0, NULL, 0), EFAULT);
	return 0;
}
