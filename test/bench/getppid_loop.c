// getppid_loop: times N getppid system calls and prints nanoseconds per
// call. Used by the benchmark report natively and in the sandbox.
//
// By default it calls libc's getppid(), whose body is the common
// `mov $nr,%eax; syscall` that the systrap platform patches into a jump
// to its fast path; with --generic it calls syscall(SYS_getppid), glibc's
// generic function, whose site takes the number from a register (systrap
// patches that exact function too; other such sites trap the slow way).
//
//go:build ignore

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static long generic_getppid(void) { return syscall(SYS_getppid); }
static long libc_getppid(void) { return getppid(); }

int main(int argc, char **argv) {
	long (*call)(void) = libc_getppid;
	if (argc > 1 && strcmp(argv[1], "--generic") == 0) {
		call = generic_getppid;
		argc--, argv++;
	}
	long n = argc > 1 ? atol(argv[1]) : 100000;
	struct timespec a, b;
	call(); // warm up (and let the sandbox patch the site)
	call();
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < n; i++)
		call();
	clock_gettime(CLOCK_MONOTONIC, &b);
	double ns = (b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec);
	printf("%.1f\n", ns / n);
	return 0;
}
