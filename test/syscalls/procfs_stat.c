// procfs_stat: /proc/self/stat agrees with the system calls: pid, comm (even
// one containing ") (" and spaces: fields are found after the last ')'),
// state R, ppid, pgrp, session, num_threads (1, then 2 with a thread),
// utime+stime growing with work, starttime not after now, vsize and rss
// non-zero; /proc/<pid>/stat of the same process matches.
//
//go:build ignore

#include "procfs_check.h"

static pthread_barrier_t bar;
static void *idle(void *arg) {
	(void)arg;
	pthread_barrier_wait(&bar);
	pthread_barrier_wait(&bar);
	return NULL;
}

int main(void) {
	char st[4096], comm[64];
	CHECK_OK(prctl(PR_SET_NAME, "x) (y z"));
	READ_PROC("/proc/self/stat", st);
	CHECK_EQ(stat_field(st, 1, comm, sizeof comm), getpid());
	CHECK(strcmp(comm, "x) (y z") == 0);
	CHECK_EQ(stat_field(st, 3, NULL, 0), 'R');
	CHECK_EQ(stat_field(st, 4, NULL, 0), getppid());
	CHECK_EQ(stat_field(st, 5, NULL, 0), getpgrp());
	CHECK_EQ(stat_field(st, 6, NULL, 0), getsid(0));
	CHECK_EQ(stat_field(st, 20, NULL, 0), 1); // num_threads
	long long hz = sysconf(_SC_CLK_TCK);
	long long start = stat_field(st, 22, NULL, 0);
	CHECK(start >= 0);
	CHECK(start <= now_ns(CLOCK_BOOTTIME) / (1000000000LL / hz) + 1);
	CHECK(stat_field(st, 23, NULL, 0) > 0); // vsize
	CHECK(stat_field(st, 24, NULL, 0) > 0); // rss
	long long cpu0 = stat_field(st, 14, NULL, 0) + stat_field(st, 15, NULL, 0);

	long long end = now_ns(CLOCK_PROCESS_CPUTIME_ID) + 200 * 1000000LL;
	volatile unsigned long x = 0;
	while (now_ns(CLOCK_PROCESS_CPUTIME_ID) < end)
		x++;
	CHECK_OK(prctl(PR_SET_NAME, "procfs_stat"));
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/stat", getpid());
	READ_PROC(path, st);
	CHECK_EQ(stat_field(st, 1, comm, sizeof comm), getpid());
	CHECK(strcmp(comm, "procfs_stat") == 0);
	long long cpu1 = stat_field(st, 14, NULL, 0) + stat_field(st, 15, NULL, 0);
	CHECK(cpu1 - cpu0 >= hz / 10); // 200 ms of CPU: at least 100 ms worth of ticks
	CHECK_EQ(stat_field(st, 22, NULL, 0), start);

	CHECK_EQ(pthread_barrier_init(&bar, NULL, 2), 0);
	pthread_t t;
	CHECK_EQ(pthread_create(&t, NULL, idle, NULL), 0);
	pthread_barrier_wait(&bar);
	READ_PROC("/proc/self/stat", st);
	CHECK_EQ(stat_field(st, 20, NULL, 0), 2);
	pthread_barrier_wait(&bar);
	CHECK_EQ(pthread_join(t, NULL), 0);
	return 0;
}
