// cpu_time_contended: processes that spin on fewer CPUs than they are are
// charged only the CPU they got, not the time they waited for one: the CPU
// clocks of more spinning processes than there are CPUs add up to no more
// than the CPUs could give in the time they ran. They spin in user code,
// or, with a second argument "sys", in system calls (getrandom of 1 MiB),
// which contention_test.go runs on the platforms that bound system time by
// the host's count.
//
//go:build ignore

#include "task_check.h"
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>

#define SPIN_NS (300 * 1000000LL)

static char buf[1 << 20];

int main(int argc, char **argv) {
	int in_kernel = argc > 2 && strcmp(argv[2], "sys") == 0;
	cpu_set_t set;
	CHECK_EQ(sched_getaffinity(0, sizeof set, &set), 0);
	int cpus = CPU_COUNT(&set);
	CHECK(cpus >= 1);
	int n = 2 * cpus + 1;
	if (n > 65)
		n = 65;
	long long *used = mmap(NULL, n * sizeof *used, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(used != MAP_FAILED);

	long long start = now_ns(CLOCK_MONOTONIC);
	long long end = start + SPIN_NS;
	pid_t pids[65];
	for (int i = 0; i < n; i++) {
		pids[i] = XFORK();
		if (pids[i] == 0) {
			volatile unsigned long x = 0;
			while (now_ns(CLOCK_MONOTONIC) < end) {
				if (in_kernel)
					CHECK(getrandom(buf, sizeof buf, 0) == sizeof buf);
				else
					x++;
			}
			used[i] = now_ns(CLOCK_PROCESS_CPUTIME_ID);
			_exit(0);
		}
	}
	for (int i = 0; i < n; i++)
		WAIT_EXIT(pids[i], 0);
	long long wall = now_ns(CLOCK_MONOTONIC) - start;

	long long sum = 0;
	for (int i = 0; i < n; i++) {
		CHECK(used[i] > 0);
		CHECK(used[i] <= wall);
		sum += used[i];
	}
	// Every child ran inside [start, start + wall], on at most cpus CPUs;
	// 2% and 20 ms for clock granularity and the charge of a last slice.
	if (sum > cpus * wall + cpus * wall / 50 + 20 * 1000000LL)
		FAIL("%d processes on %d CPUs used %lld ms of CPU in %lld ms", n, cpus, sum / 1000000, wall / 1000000);
	return 0;
}
