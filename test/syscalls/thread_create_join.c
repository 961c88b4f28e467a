// thread_create_join: pthread_create starts threads that share the address
// space but run on their own stacks; pthread_join waits for each one to
// finish (the kernel's CLONE_CHILD_CLEARTID wake) and returns its result;
// threads can create threads.
//
//go:build ignore

#include "task_check.h"

enum { N = 8 };

static int shared[N];
static uintptr_t stack_addr[N];
static atomic_int finished;

static void *worker(void *arg) {
	long i = (long)arg;
	int local = 0;
	stack_addr[i] = (uintptr_t)&local;
	shared[i] = (int)i * 10;
	if (i == N - 1)
		msleep(50); // join must really wait for it
	atomic_fetch_add(&finished, 1);
	return (void *)(i * 3 + 1);
}

static void *leaf(void *arg) { return (void *)((long)arg + 100); }

static void *spawner(void *arg) {
	pthread_t t;
	CHECK_EQ(pthread_create(&t, NULL, leaf, arg), 0);
	void *r;
	CHECK_EQ(pthread_join(t, &r), 0);
	return r;
}

int main(void) {
	pthread_t t[N];
	int main_local = 0;
	for (long i = 0; i < N; i++)
		CHECK_EQ(pthread_create(&t[i], NULL, worker, (void *)i), 0);
	for (long i = 0; i < N; i++) {
		void *r = NULL;
		CHECK_EQ(pthread_join(t[i], &r), 0);
		CHECK_EQ((long)r, i * 3 + 1);
		CHECK_EQ(shared[i], i * 10); // its writes are visible after join
	}
	CHECK_EQ(atomic_load(&finished), N);
	// Every thread had its own stack, far from main's.
	for (int i = 0; i < N; i++) {
		CHECK(stack_addr[i] != 0);
		long long d = (long long)stack_addr[i] - (long long)(uintptr_t)&main_local;
		CHECK(d > 4096 || d < -4096);
		for (int j = 0; j < i; j++) {
			long long e = (long long)stack_addr[i] - (long long)stack_addr[j];
			CHECK(e > 4096 || e < -4096);
		}
	}

	// A thread that starts a thread of its own.
	pthread_t s;
	void *r;
	CHECK_EQ(pthread_create(&s, NULL, spawner, (void *)5), 0);
	CHECK_EQ(pthread_join(s, &r), 0);
	CHECK_EQ((long)r, 105);
	return 0;
}
