// procfs_run_state: the state letter of /proc/<pid>/stat and the State
// line of /proc/<pid>/status follow what the process does: R while it runs
// (spinning in user code), S while it waits in a system call (a read of an
// empty pipe), D while a vfork parent waits for its child, T once
// stopped by SIGSTOP (back to R or S after SIGCONT), Z once it exited and
// is not reaped yet.
//
//go:build ignore

#include "procfs_check.h"
#include "task_check.h"
#include <sys/wait.h>

// stat_state returns the state letter of /proc/pid/stat.
static char stat_state(pid_t pid) {
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	CHECK(read_text(path, buf, sizeof buf) > 0);
	char *p = strrchr(buf, ')');
	CHECK(p != NULL && p[1] == ' ');
	return p[2];
}

// status_state returns the letter of /proc/pid/status's State line,
// checking that the name after it is the one Linux gives it.
static char status_state(pid_t pid) {
	static const char *names[] = {"R (running)", "S (sleeping)", "D (disk sleep)", "T (stopped)", "Z (zombie)"};
	static const char letters[] = "RSDTZ";
	char path[64], status[4096], line[64];
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	CHECK(read_text(path, status, sizeof status) > 0);
	CHECK(status_field(status, "State", line, sizeof line) != NULL);
	const char *l = line[0] ? strchr(letters, line[0]) : NULL;
	if (l == NULL || strcmp(line, names[l - letters]) != 0)
		FAIL("status State \"%s\"", line);
	return line[0];
}

// state_of returns pid's state, which stat and status must agree on (for
// a process that cannot change state between the two reads).
static char state_of(pid_t pid) {
	char s = stat_state(pid);
	CHECK_EQ(status_state(pid), s);
	return s;
}

// await_state waits (bounded) until both files show pid in state s.
static void await_state(pid_t pid, char s) {
	char a = 0, b = 0;
	for (int i = 0; i < 30000; i++) {
		if ((a = stat_state(pid)) == s && (b = status_state(pid)) == s)
			return;
		msleep(1);
	}
	FAIL("pid %d state %c/%c, want %c", (int)pid, a, b, s);
}

int main(void) {
	CHECK_EQ(stat_state(getpid()), 'R');
	CHECK_EQ(status_state(getpid()), 'R');

	// Waiting in a read: S; stopped: T; continued: S again.
	int p[2];
	CHECK_OK(pipe(p));
	fflush(NULL);
	pid_t pid = XFORK();
	if (pid == 0) {
		char c;
		_exit(read(p[0], &c, 1) == 1 ? 0 : 1);
	}
	await_state(pid, 'S');
	CHECK_OK(kill(pid, SIGSTOP));
	int st;
	CHECK_EQ(waitpid(pid, &st, WUNTRACED), pid);
	CHECK(WIFSTOPPED(st));
	CHECK_EQ(state_of(pid), 'T');
	CHECK_OK(kill(pid, SIGCONT));
	await_state(pid, 'S');
	CHECK_EQ(write(p[1], "x", 1), 1);
	// Exited, not reaped: Z.
	siginfo_t si;
	CHECK_OK(waitid(P_PID, pid, &si, WEXITED | WNOWAIT));
	CHECK_EQ(state_of(pid), 'Z');
	WAIT_EXIT(pid, 0);

	// Spinning in user code: R.
	volatile int *stop = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(stop != MAP_FAILED);
	fflush(NULL);
	pid = XFORK();
	if (pid == 0) {
		while (!*stop)
			;
		_exit(0);
	}
	await_state(pid, 'R');
	*stop = 1;
	WAIT_EXIT(pid, 0);

	// A vfork parent waiting for its child (which waits in a read): D.
	int q[2], r[2];
	CHECK_OK(pipe(q));
	CHECK_OK(pipe(r));
	fflush(NULL);
	pid = XFORK();
	if (pid == 0) {
		pid_t v = vfork();
		if (v == 0) {
			char c;
			// The vfork child shares our memory: only system calls.
			if (read(q[0], &c, 1) != 1)
				_exit(1);
			_exit(0);
		}
		_exit(v > 0 ? 0 : 1);
	}
	await_state(pid, 'D');
	CHECK_EQ(write(q[1], "x", 1), 1);
	WAIT_EXIT(pid, 0);
	return 0;
}
