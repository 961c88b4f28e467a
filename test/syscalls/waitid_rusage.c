// waitid_rusage: waitid(2)'s Linux-specific fifth argument, a struct
// rusage, receives the waited-for child's resource usage as wait4(2)
// reports it: CPU time at least what the child measured itself, its peak
// RSS. With WNOHANG and no child ready it is left alone; a bad address is
// EFAULT.
//
//go:build ignore

#include "task_check.h"
#include <sys/resource.h>
#include <sys/wait.h>

static long waitid_ru(idtype_t which, pid_t id, siginfo_t *info, int options, struct rusage *ru) {
	return syscall(SYS_waitid, which, id, info, options, ru);
}

static long tv_us(struct timeval tv) { return tv.tv_sec * 1000000L + tv.tv_usec; }

#define TOUCH (16 << 20)

int main(void) {
	int p[2];
	CHECK_OK(pipe(p));
	fflush(NULL);
	pid_t pid = XFORK();
	if (pid == 0) {
		char *m = malloc(TOUCH);
		CHECK(m != NULL);
		memset(m, 1, TOUCH);
		struct timespec ts;
		do {
			CHECK_OK(clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts));
		} while (ts.tv_sec == 0 && ts.tv_nsec < 30 * 1000000);
		long us = ts.tv_sec * 1000000L + ts.tv_nsec / 1000;
		CHECK_EQ(write(p[1], &us, sizeof us), sizeof us);
		CHECK_EQ(m[TOUCH - 1], 1);
		_exit(3);
	}
	close(p[1]);

	struct rusage ru;
	siginfo_t info;
	long child_us;
	CHECK_EQ(read(p[0], &child_us, sizeof child_us), sizeof child_us);

	// A child that cannot have exited: WNOHANG leaves the rusage alone.
	memset(&ru, 0xa5, sizeof ru);
	memset(&info, 0, sizeof info);
	int q[2];
	CHECK_OK(pipe(q));
	int other = XFORK();
	if (other == 0) {
		close(q[1]);
		char c;
		read(q[0], &c, 1); // ends when the parent kills us
		_exit(0);
	}
	CHECK_OK(waitid_ru(P_PID, other, &info, WEXITED | WNOHANG, &ru));
	CHECK_EQ(info.si_pid, 0);
	CHECK_FILL((char *)&ru, 0xa5, sizeof ru);
	CHECK_OK(kill(other, SIGKILL));
	CHECK_OK(waitid_ru(P_PID, other, &info, WEXITED, NULL));
	close(q[0]);
	close(q[1]);

	// The exited child, peeked at with WNOWAIT, then reaped by wait4.
	CHECK_ERR(waitid_ru(P_PID, pid, &info, WEXITED | WNOWAIT, bad_addr()), EFAULT);
	memset(&ru, 0, sizeof ru);
	CHECK_OK(waitid_ru(P_PID, pid, &info, WEXITED | WNOWAIT, &ru));
	CHECK_EQ(info.si_pid, pid);
	CHECK_EQ(info.si_code, CLD_EXITED);
	CHECK_EQ(info.si_status, 3);
	long us = tv_us(ru.ru_utime) + tv_us(ru.ru_stime);
	CHECK(us >= child_us);
	CHECK(ru.ru_maxrss >= TOUCH / 1024);

	struct rusage ru4;
	int ws;
	CHECK_EQ(wait4(pid, &ws, 0, &ru4), pid);
	CHECK(WIFEXITED(ws) && WEXITSTATUS(ws) == 3);
	CHECK(tv_us(ru4.ru_utime) + tv_us(ru4.ru_stime) >= us);
	CHECK_EQ(ru4.ru_maxrss, ru.ru_maxrss);

	// And a reaping waitid reports the same as wait4 would.
	fflush(NULL);
	pid = XFORK();
	if (pid == 0) {
		char *m = malloc(TOUCH);
		CHECK(m != NULL);
		memset(m, 1, TOUCH);
		_exit(m[1] == 1 ? 0 : 1);
	}
	memset(&ru, 0, sizeof ru);
	CHECK_OK(waitid_ru(P_PID, pid, &info, WEXITED, &ru));
	CHECK_EQ(info.si_pid, pid);
	CHECK(ru.ru_maxrss >= TOUCH / 1024);
	CHECK_ERR(waitid_ru(P_PID, pid, &info, WEXITED, &ru), ECHILD);
	return 0;
}
