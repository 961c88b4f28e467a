// alarm: alarm(n) returns the seconds left on the previous alarm (0 if
// none), alarm(0) cancels; a pending alarm is not inherited by a fork child
// but survives execve; an alarm that fires with SIGALRM at its default
// action kills the process.
//
//go:build ignore

#include "task_check.h"

int main(int argc, char **argv) {
	if (argc > 2 && strcmp(argv[2], "after-exec") == 0) {
		// The alarm set before exec is still there (1..3 s left).
		unsigned left = alarm(0);
		return left >= 1 && left <= 3 ? 0 : 10 + (int)left;
	}
	CHECK_EQ(alarm(0), 0);
	CHECK_EQ(alarm(5), 0);
	unsigned left = alarm(7);
	CHECK(left >= 4 && left <= 5);
	pid_t pid = XFORK();
	if (pid == 0)
		_exit(alarm(0) == 0 ? 0 : 1); // not inherited
	WAIT_EXIT(pid, 0);
	left = alarm(0);
	CHECK(left >= 6 && left <= 7); // ours is untouched
	CHECK_EQ(alarm(0), 0);

	pid = XFORK();
	if (pid == 0) {
		alarm(3);
		reexec(argv, "after-exec", NULL, NULL);
	}
	WAIT_EXIT(pid, 0);

	// Fires: SIGALRM's default action terminates.
	long long t0 = now_ns(CLOCK_MONOTONIC);
	pid = XFORK();
	if (pid == 0) {
		alarm(1);
		for (;;)
			pause();
	}
	WAIT_KILLED(pid, SIGALRM);
	long long dt = now_ns(CLOCK_MONOTONIC) - t0;
	CHECK(dt >= 1000 * 1000000LL);
	CHECK(dt < 5000 * 1000000LL);
	return 0;
}
