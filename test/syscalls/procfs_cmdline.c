// procfs_cmdline: /proc/self/cmdline is argv joined with NUL bytes (empty
// arguments included), /proc/self/environ is the initial environment the
// same way, and /proc/self/comm is the executable's base name cut to 15
// bytes plus a newline, following PR_SET_NAME and writable by the process.
//
//go:build ignore

#include "procfs_check.h"

static int child(int argc, char **argv) {
	char buf[8192];
	long n = READ_PROC("/proc/self/cmdline", buf);
	long want = 0;
	for (int i = 0; i < argc; i++) {
		CHECK(want + (long)strlen(argv[i]) < n);
		CHECK(strcmp(buf + want, argv[i]) == 0);
		want += strlen(argv[i]) + 1;
	}
	CHECK_EQ(n, want);
	n = READ_PROC("/proc/self/environ", buf);
	const char env[] = "ONE=1\0EMPTY=\0SPACES=a b c";
	CHECK_EQ(n, sizeof env);
	CHECK_MEM(buf, env, sizeof env);

	// comm: the first 15 bytes of the executable's base name.
	READ_PROC("/proc/self/comm", buf);
	const char *base = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	char want_comm[32];
	snprintf(want_comm, sizeof want_comm, "%.15s\n", base);
	CHECK(strcmp(buf, want_comm) == 0);
	CHECK_OK(prctl(PR_SET_NAME, "renamed"));
	READ_PROC("/proc/self/comm", buf);
	CHECK(strcmp(buf, "renamed\n") == 0);
	int fd = open("/proc/self/comm", O_WRONLY);
	CHECK(fd >= 0);
	CHECK_EQ(write(fd, "written", 7), 7);
	close(fd);
	CHECK_OK(prctl(PR_GET_NAME, buf));
	CHECK(strcmp(buf, "written") == 0);
	return 0;
}

int main(int argc, char **argv) {
	if (argc > 2 && strcmp(argv[2], "child") == 0)
		return child(argc, argv);
	pid_t pid = XFORK();
	if (pid == 0) {
		char *args[] = {argv[0], argv[1], "child", "", "with space", NULL};
		char *env[] = {"ONE=1", "EMPTY=", "SPACES=a b c", NULL};
		execve(argv[0], args, env);
		_exit(99);
	}
	WAIT_EXIT(pid, 0);
	return 0;
}
