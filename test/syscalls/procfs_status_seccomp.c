// procfs_status_seccomp: /proc/self/status has "Seccomp:" (0 disabled,
// 1 strict, 2 filter) and "Seccomp_filters:" (the number of filters
// installed) right after "NoNewPrivs:", as Linux's proc_pid_status prints
// them; a forked child inherits both; a process in strict mode reads 1
// from a status file it opened before (the text is made at the first read).
//
//go:build ignore

#include "procfs_check.h"
#include "seccomp_check.h"

static int field(const char *key) {
	char s[8192], v[64];
	READ_PROC("/proc/self/status", s);
	return atoi(status_field(s, key, v, sizeof v));
}

int main(void) {
	char s[8192];
	READ_PROC("/proc/self/status", s);
	// Order: NoNewPrivs, then Seccomp, then Seccomp_filters.
	char *nnp = strstr(s, "\nNoNewPrivs:");
	CHECK(nnp != NULL);
	char *next = strchr(nnp + 1, '\n');
	CHECK(next != NULL && strncmp(next, "\nSeccomp:\t", 10) == 0);
	next = strchr(next + 1, '\n');
	CHECK(next != NULL && strncmp(next, "\nSeccomp_filters:\t", 18) == 0);
	CHECK_EQ(field("Seccomp"), 0);
	CHECK_EQ(field("Seccomp_filters"), 0);
	CHECK_EQ(prctl(PR_GET_SECCOMP, 0, 0, 0, 0), 0);

	// Strict mode, in a child: it may only read, write and exit.
	int p[2];
	CHECK_OK(pipe(p));
	pid_t c = fork();
	CHECK(c >= 0);
	if (c == 0) {
		close(p[0]);
		int fd = open("/proc/self/status", O_RDONLY);
		if (fd < 0)
			_exit(2);
		if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT, 0, 0, 0) != 0)
			syscall(SYS_exit, 3);
		char b[8192];
		long n = 0, r;
		while ((r = read(fd, b + n, sizeof b - 1 - n)) > 0)
			n += r;
		write(p[1], b, n);
		syscall(SYS_exit, 0);
	}
	close(p[1]);
	long n = 0, r;
	while ((r = read(p[0], s + n, sizeof s - 1 - n)) > 0)
		n += r;
	s[n] = 0;
	close(p[0]);
	WAIT_EXIT(c, 0);
	char v[64];
	CHECK_EQ(atoi(status_field(s, "Seccomp", v, sizeof v)), 1);
	CHECK_EQ(atoi(status_field(s, "Seccomp_filters", v, sizeof v)), 0);

	// Filters.
	filter_one(SYS_getpriority, SECCOMP_RET_ERRNO | EPERM);
	CHECK_EQ(field("Seccomp"), 2);
	CHECK_EQ(field("Seccomp_filters"), 1);
	CHECK_EQ(field("NoNewPrivs"), 1);
	struct rule rl = {SYS_getpgid, SECCOMP_RET_ERRNO | EPERM, 0, 0};
	CHECK_OK(filter_install(&rl, 1));
	CHECK_OK(filter_install(&rl, 1));
	CHECK_EQ(field("Seccomp"), 2);
	CHECK_EQ(field("Seccomp_filters"), 3);
	CHECK_EQ(prctl(PR_GET_SECCOMP, 0, 0, 0, 0), 2);

	// A child inherits them.
	c = fork();
	CHECK(c >= 0);
	if (c == 0)
		_exit(field("Seccomp") == 2 && field("Seccomp_filters") == 3 ? 0 : 1);
	WAIT_EXIT(c, 0);
	return 0;
}
