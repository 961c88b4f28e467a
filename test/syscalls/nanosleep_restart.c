// A nanosleep interrupted by a stop (SIGSTOP, then SIGCONT, no handler)
// resumes with the time left, through restart_syscall(2): it ends at the
// original deadline, not a whole sleep after the continue.
//go:build ignore

#include "check.h"
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

static long long now_ms(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void msleep(long ms) {
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
	while (nanosleep(&ts, &ts) != 0)
		;
}

int main(void) {
	int p[2];
	CHECK_OK(pipe(p));
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		long long t0 = now_ms();
		struct timespec ts = {2, 0};
		int r = nanosleep(&ts, NULL);
		long long took = now_ms() - t0;
		if (write(p[1], &took, sizeof took) != sizeof took)
			_exit(2);
		_exit(r == 0 ? 0 : 1);
	}
	msleep(300);
	CHECK_OK(kill(pid, SIGSTOP));
	int st;
	CHECK_EQ(waitpid(pid, &st, WUNTRACED), pid);
	CHECK(WIFSTOPPED(st));
	msleep(1000);
	CHECK_OK(kill(pid, SIGCONT));
	CHECK_EQ(waitpid(pid, &st, 0), pid);
	CHECK(WIFEXITED(st));
	CHECK_EQ(WEXITSTATUS(st), 0); // no EINTR: restarted
	long long took;
	CHECK_EQ(read(p[0], &took, sizeof took), sizeof took);
	CHECK(took >= 2000);
	// A restart of the whole sleep would end 2 s after the continue,
	// 3.3 s in; the remainder ends it near 2 s.
	CHECK(took < 2900);
	return 0;
}
