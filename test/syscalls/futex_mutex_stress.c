// futex_mutex_stress: pthread mutexes and condition variables (futex
// WAIT/WAKE underneath) between several threads: 8 threads x 3000 locked
// increments lose none, and a bounded producer/consumer queue passes 10000
// items through in order with every thread finishing.
//
//go:build ignore

#include "task_check.h"

enum { T = 8, ITERS = 3000, ITEMS = 10000, CAP = 4 };

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static long counter;

static void *incr(void *arg) {
	(void)arg;
	for (int i = 0; i < ITERS; i++) {
		pthread_mutex_lock(&mu);
		long v = counter;
		if (i % 64 == 0)
			sched_yield(); // widen the window a lost update would need
		counter = v + 1;
		pthread_mutex_unlock(&mu);
	}
	return NULL;
}

static pthread_mutex_t qmu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t not_full = PTHREAD_COND_INITIALIZER, not_empty = PTHREAD_COND_INITIALIZER;
static int q[CAP], qhead, qlen;

static void *producer(void *arg) {
	(void)arg;
	for (int i = 0; i < ITEMS; i++) {
		pthread_mutex_lock(&qmu);
		while (qlen == CAP)
			pthread_cond_wait(&not_full, &qmu);
		q[(qhead + qlen) % CAP] = i;
		qlen++;
		pthread_cond_signal(&not_empty);
		pthread_mutex_unlock(&qmu);
	}
	return NULL;
}

static void *consumer(void *arg) {
	long bad = 0;
	(void)arg;
	for (int i = 0; i < ITEMS; i++) {
		pthread_mutex_lock(&qmu);
		while (qlen == 0)
			pthread_cond_wait(&not_empty, &qmu);
		int v = q[qhead];
		qhead = (qhead + 1) % CAP;
		qlen--;
		pthread_cond_signal(&not_full);
		pthread_mutex_unlock(&qmu);
		if (v != i)
			bad++;
	}
	return (void *)bad;
}

int main(void) {
	pthread_t t[T];
	for (int i = 0; i < T; i++)
		CHECK_EQ(pthread_create(&t[i], NULL, incr, NULL), 0);
	for (int i = 0; i < T; i++)
		CHECK_EQ(pthread_join(t[i], NULL), 0);
	CHECK_EQ(counter, (long)T * ITERS);

	pthread_t p, c;
	CHECK_EQ(pthread_create(&c, NULL, consumer, NULL), 0);
	CHECK_EQ(pthread_create(&p, NULL, producer, NULL), 0);
	void *bad;
	CHECK_EQ(pthread_join(p, NULL), 0);
	CHECK_EQ(pthread_join(c, &bad), 0);
	CHECK_EQ((long)bad, 0);
	CHECK_EQ(qlen, 0);
	return 0;
}
