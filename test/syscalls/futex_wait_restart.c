// futex_wait_restart: how an interrupted FUTEX_WAIT resumes. A signal
// whose handler has SA_RESTART restarts an untimed wait (it goes on until
// a FUTEX_WAKE), but ends a timed one with EINTR (Linux's futex_wait
// returns ERESTART_RESTARTBLOCK, which a handler turns into EINTR). A
// stop and a continue (no handler) resume a timed wait through
// restart_syscall(2) with the time left: it times out at the original
// deadline, not a whole timeout after the continue.
//
//go:build ignore

#include "task_check.h"
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/wait.h>

static volatile int *word;

static void on_usr1(int sig, siginfo_t *si, void *uc) { (void)sig, (void)si, (void)uc; }

static long long now_ms(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

// proc_state returns the state letter of /proc/pid/stat.
static char proc_state(pid_t pid) {
	char path[64], buf[512];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	CHECK(read_text(path, buf, sizeof buf) > 0);
	char *p = strrchr(buf, ')');
	CHECK(p != NULL && p[1] == ' ');
	return p[2];
}

// wait_blocked waits until the child sleeps (in its futex wait); the
// bound is generous, since a fork can take seconds on a loaded machine.
static void wait_blocked(pid_t pid) {
	for (int i = 0; i < 30000 && proc_state(pid) != 'S'; i++)
		msleep(1);
	CHECK_EQ(proc_state(pid), 'S');
	msleep(20);
}

// waiter runs a FUTEX_WAIT on the shared word with timeout_ms (0: none)
// and exits with its errno (0 when woken).
static pid_t waiter(long timeout_ms, int report) {
	fflush(NULL);
	pid_t pid = XFORK();
	if (pid == 0) {
		install(SIGUSR1, on_usr1, SA_RESTART);
		struct timespec ts = {timeout_ms / 1000, (timeout_ms % 1000) * 1000000};
		long long t0 = now_ms();
		if (report >= 0)
			CHECK_EQ(write(report, &t0, sizeof t0), sizeof t0);
		long r = futex((void *)word, FUTEX_WAIT, 0, timeout_ms ? &ts : NULL, NULL, 0);
		int e = r == 0 ? 0 : errno;
		if (report >= 0) {
			long long took = now_ms() - t0;
			CHECK_EQ(write(report, &took, sizeof took), sizeof took);
		}
		_exit(e);
	}
	return pid;
}

int main(void) {
	word = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(word != MAP_FAILED);

	// Timed, SA_RESTART handler: EINTR.
	*word = 0;
	pid_t pid = waiter(10000, -1);
	wait_blocked(pid);
	CHECK_OK(kill(pid, SIGUSR1));
	WAIT_EXIT(pid, EINTR);

	// Untimed, SA_RESTART handler: restarted, then woken.
	pid = waiter(0, -1);
	wait_blocked(pid);
	CHECK_OK(kill(pid, SIGUSR1));
	wait_blocked(pid); // still waiting after the handler
	*word = 1;
	futex_wake_n((void *)word, FUTEX_WAKE, 1);
	WAIT_EXIT(pid, 0);

	// Timed, stopped and continued after its deadline: restarted with
	// no time left, it times out at once.
	*word = 0;
	int p[2];
	CHECK_OK(pipe(p));
	pid = waiter(500, p[1]);
	long long t0;
	CHECK_EQ(read(p[0], &t0, sizeof t0), sizeof t0);
	wait_blocked(pid);
	CHECK_OK(kill(pid, SIGSTOP));
	int st;
	CHECK_EQ(waitpid(pid, &st, WUNTRACED), pid);
	CHECK(WIFSTOPPED(st));
	long long left = t0 + 800 - now_ms();
	if (left > 0)
		msleep(left);
	CHECK_OK(kill(pid, SIGCONT));
	WAIT_EXIT(pid, ETIMEDOUT);
	long long took;
	CHECK_EQ(read(p[0], &took, sizeof took), sizeof took);
	CHECK(took >= 800);
	// A restart of the whole timeout would end 500 ms after the
	// continue, 1300 ms in.
	CHECK(took < 1200);
	return 0;
}
