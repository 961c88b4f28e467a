// cpu_time_threads: the threads of one process are charged, together, no
// more CPU than the CPUs could give. With more spinning threads than CPUs
// and threads that wake every millisecond to wait for a CPU behind them,
// the process's user time stays within what the CPUs could give in the
// time it ran. (A kernel that charged each waking thread the time it
// waited, or the CPU its whole process used meanwhile, counts the
// spinners' time again for every thread that woke.)
//
//go:build ignore

#include "task_check.h"
#include <sys/resource.h>

#define RUN_MS 600
#define SLEEPERS 8

static atomic_int stop;

static void *spinner(void *arg) {
	(void)arg;
	volatile unsigned long x = 0;
	while (!atomic_load(&stop))
		x++;
	return NULL;
}

static void *sleeper(void *arg) {
	(void)arg;
	while (!atomic_load(&stop))
		msleep(1);
	return NULL;
}

static long long user_ns(void) {
	struct rusage ru;
	CHECK_OK(getrusage(RUSAGE_SELF, &ru));
	return ru.ru_utime.tv_sec * 1000000000LL + ru.ru_utime.tv_usec * 1000LL;
}

int main(void) {
	cpu_set_t set;
	CHECK_EQ(sched_getaffinity(0, sizeof set, &set), 0);
	int cpus = CPU_COUNT(&set);
	CHECK(cpus >= 1);
	int spinners = cpus + 1;
	if (spinners > 17)
		spinners = 17;

	long long start = now_ns(CLOCK_MONOTONIC), user0 = user_ns();
	pthread_t threads[17 + SLEEPERS];
	int n = 0;
	for (int i = 0; i < spinners; i++)
		CHECK_EQ(pthread_create(&threads[n++], NULL, spinner, NULL), 0);
	for (int i = 0; i < SLEEPERS; i++)
		CHECK_EQ(pthread_create(&threads[n++], NULL, sleeper, NULL), 0);
	msleep(RUN_MS);
	atomic_store(&stop, 1);
	for (int i = 0; i < n; i++)
		CHECK_EQ(pthread_join(threads[i], NULL), 0);
	long long wall = now_ns(CLOCK_MONOTONIC) - start, user = user_ns() - user0;

	// The spinners did use the CPUs...
	CHECK(user >= wall / 10);
	// ...but all threads together got no more than the CPUs could give;
	// 2% and 20 ms for clock granularity and the charge of a last slice.
	if (user > cpus * wall + cpus * wall / 50 + 20000000LL) {
		fprintf(stderr, "user time %lld ms in %lld ms on %d CPUs\n", user / 1000000, wall / 1000000, cpus);
		CHECK(user <= cpus * wall + cpus * wall / 50 + 20000000LL);
	}
	return 0;
}
