// rlimit_prlimit: resource limits are per process: a fork child inherits
// them and keeps them across execve; prlimit can read and set another
// process's limits by pid (the child sees the new value, the caller's own
// are unchanged); a missing pid is ESRCH.
//
//go:build ignore

#include "task_check.h"

int main(int argc, char **argv) {
	if (argc > 2 && strcmp(argv[2], "after-exec") == 0) {
		struct rlimit r;
		CHECK_OK(getrlimit(RLIMIT_NOFILE, &r));
		return r.rlim_cur == 77 ? 0 : 1;
	}
	struct rlimit mine, r;
	CHECK_OK(getrlimit(RLIMIT_NOFILE, &mine));
	if (mine.rlim_max < 100)
		FAIL("hard RLIMIT_NOFILE %lu is too low", (unsigned long)mine.rlim_max);

	pid_t pid = XFORK();
	if (pid == 0) {
		r = mine;
		r.rlim_cur = 77;
		CHECK_OK(setrlimit(RLIMIT_NOFILE, &r));
		reexec(argv, "after-exec", NULL, NULL);
	}
	WAIT_EXIT(pid, 0);
	CHECK_OK(getrlimit(RLIMIT_NOFILE, &r));
	CHECK_EQ(r.rlim_cur, mine.rlim_cur);

	int cmd[2], ans[2];
	CHECK_OK(pipe(cmd));
	CHECK_OK(pipe(ans));
	pid = XFORK();
	if (pid == 0) {
		char c;
		CHECK_EQ(read(cmd[0], &c, 1), 1);
		struct rlimit now;
		CHECK_OK(getrlimit(RLIMIT_NOFILE, &now));
		CHECK_EQ(write(ans[1], &now, sizeof now), sizeof now);
		_exit(0);
	}
	struct rlimit got, set = mine, old;
	CHECK_OK(prlimit(pid, RLIMIT_NOFILE, NULL, &got));
	CHECK_EQ(got.rlim_cur, mine.rlim_cur);
	set.rlim_cur = 55;
	CHECK_OK(prlimit(pid, RLIMIT_NOFILE, &set, &old));
	CHECK_EQ(old.rlim_cur, mine.rlim_cur);
	CHECK_EQ(write(cmd[1], "q", 1), 1);
	struct rlimit seen;
	CHECK_EQ(read(ans[0], &seen, sizeof seen), sizeof seen);
	CHECK_EQ(seen.rlim_cur, 55);
	WAIT_EXIT(pid, 0);
	CHECK_OK(getrlimit(RLIMIT_NOFILE, &r));
	CHECK_EQ(r.rlim_cur, mine.rlim_cur);
	CHECK_ERR(prlimit(pid, RLIMIT_NOFILE, NULL, &got), ESRCH);
	return 0;
}
