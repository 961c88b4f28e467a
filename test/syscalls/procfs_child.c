// procfs_child: /proc/<pid> of a child shows it from outside: stat has its
// pid, our pid as ppid and state S while it sleeps in read, T when stopped,
// Z once it has exited but is not yet reaped; after it is reaped /proc/<pid>
// is gone (ENOENT).
//
//go:build ignore

#include "procfs_check.h"

static char state_of(pid_t pid) {
	char path[64], st[1024];
	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	READ_PROC(path, st);
	CHECK_EQ(stat_field(st, 1, NULL, 0), pid);
	CHECK_EQ(stat_field(st, 4, NULL, 0), getpid());
	return (char)stat_field(st, 3, NULL, 0);
}

// wait_state polls until pid is in state want (at most ~5 s).
static void wait_state(pid_t pid, char want) {
	char s = 0;
	for (int i = 0; i < 5000; i++) {
		s = state_of(pid);
		if (s == want)
			return;
		usleep(1000);
	}
	FAIL("child %d: state %c, want %c", pid, s, want);
}

int main(void) {
	int p[2];
	CHECK_OK(pipe(p));
	pid_t pid = XFORK();
	if (pid == 0) {
		char c;
		(void)!read(p[0], &c, 1);
		_exit(0);
	}
	wait_state(pid, 'S');
	CHECK_OK(kill(pid, SIGSTOP));
	wait_state(pid, 'T');
	CHECK_OK(kill(pid, SIGCONT));
	wait_state(pid, 'S');
	CHECK_EQ(write(p[1], "x", 1), 1);
	wait_state(pid, 'Z');
	siginfo_t si;
	CHECK_EQ(waitid(P_PID, pid, &si, WEXITED), 0);
	char path[64];
	snprintf(path, sizeof path, "/proc/%d", pid);
	struct stat sb;
	CHECK_ERR(stat(path, &sb), ENOENT);
	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	char st[64];
	CHECK_ERR(read_text(path, st, sizeof st), ENOENT);
	return 0;
}
