// rusage_maxrss_exec: ru_maxrss is a process's peak resident set, and
// Linux keeps it across execve (the old address space's peak is folded
// into the process's at exec): a child that touches 48 MiB and then
// re-executes itself as a small program still reports at least that much
// for RUSAGE_SELF and RUSAGE_THREAD; its parent sees it in wait4's rusage
// and RUSAGE_CHILDREN, but not in its own RUSAGE_SELF. A grandchild's peak
// reaches the child's wait4 rusage and its grandparent's RUSAGE_CHILDREN
// through the child's.
//
//go:build ignore

#include "task_check.h"

#define BIG (48L << 20)
#define HUGE (64L << 20)
#define SLACK (4L << 20)

static long maxrss_kib(int who) {
	struct rusage r;
	CHECK_OK(getrusage(who, &r));
	return r.ru_maxrss;
}

static void touch(long n) {
	char *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(p != MAP_FAILED);
	memset(p, 1, n);
	CHECK_OK(munmap(p, n));
}

int main(int argc, char **argv) {
	if (argc > 3 && strcmp(argv[2], "after-exec") == 0) {
		// The new image never touched much itself.
		CHECK(maxrss_kib(RUSAGE_SELF) >= (BIG - SLACK) / 1024);
		CHECK(maxrss_kib(RUSAGE_THREAD) >= (BIG - SLACK) / 1024);
		CHECK(maxrss_kib(RUSAGE_CHILDREN) < (BIG - SLACK) / 1024);
		// A grandchild that peaks higher, reaped here.
		pid_t pid = XFORK();
		if (pid == 0) {
			touch(HUGE);
			_exit(0);
		}
		WAIT_EXIT(pid, 0);
		CHECK(maxrss_kib(RUSAGE_CHILDREN) >= (HUGE - SLACK) / 1024);
		return 0;
	}
	long self0 = maxrss_kib(RUSAGE_SELF);
	CHECK(self0 < (BIG - SLACK) / 1024);
	CHECK(maxrss_kib(RUSAGE_CHILDREN) < (BIG - SLACK) / 1024);

	pid_t pid = XFORK();
	if (pid == 0) {
		touch(BIG);
		CHECK(maxrss_kib(RUSAGE_SELF) >= (BIG - SLACK) / 1024);
		reexec(argv, "after-exec", "x", NULL);
	}
	int ws;
	struct rusage ru;
	CHECK_EQ(wait4(pid, &ws, 0, &ru), pid);
	if (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0)
		FAIL("child: %s", wstatus_str(ws));
	// wait4 reports the child with its reaped children: the
	// grandchild's peak.
	CHECK(ru.ru_maxrss >= (HUGE - SLACK) / 1024);
	CHECK(maxrss_kib(RUSAGE_CHILDREN) >= (HUGE - SLACK) / 1024);
	CHECK(maxrss_kib(RUSAGE_SELF) < (BIG - SLACK) / 1024);
	return 0;
}
