// syslog: syslog(2) reads the kernel log, whose records look like
// "<level>[seconds.micros] text"; a process killed by a page fault it
// does not handle is logged ("NAME[PID]: segfault at ADDR ip ..."), and
// so is one killed by an invalid opcode, a division by zero or an int3
// ("traps: NAME[PID] trap invalid opcode ip:..."); one that handles its
// fault is not; reading the whole log and its size is allowed
// to anyone unless kernel.dmesg_restrict is set (the sandbox's is 0), the
// other actions need CAP_SYSLOG; bad arguments are EINVAL. (No action that changes the log
// or the console is made: the native run is the host's.)
//
//go:build ignore

#include "fs_check.h"
#include <signal.h>
#include <sys/klog.h>
#include <sys/prctl.h>

#define ACTION_CLOSE 0
#define ACTION_READ 2
#define ACTION_READ_ALL 3
#define ACTION_CLEAR 5
#define ACTION_CONSOLE_LEVEL 8
#define ACTION_SIZE_UNREAD 9
#define ACTION_SIZE_BUFFER 10

#define LOG_CAP (1 << 20)
static char logbuf[LOG_CAP + 1];

// read_log reads the whole log into logbuf and returns its length.
static int read_log(void) {
	int n = klogctl(ACTION_READ_ALL, logbuf, LOG_CAP);
	if (n < 0)
		FAIL("klogctl(READ_ALL) (errno %d %s)", errno, errname(errno));
	logbuf[n] = 0;
	return n;
}

// each line of the log is "<N>[ S.UUUUUU] text".
static void check_format(int n) {
	char *line = logbuf;
	while (line < logbuf + n) {
		char *end = strchr(line, '\n');
		CHECK(end != NULL);
		unsigned level;
		unsigned long s, us;
		int used = 0;
		if (sscanf(line, "<%u>[%lu.%6lu]%n", &level, &s, &us, &used) != 3 || used == 0 || line[used] != ' ')
			FAIL("malformed log line: %.*s", (int)(end - line), line);
		line = end + 1;
	}
}

enum fault { PAGE_FAULT, INVALID_OPCODE, DIVIDE_ERROR, INT3 };

static void fault_child(const char *name, enum fault kind, int handled) {
	prctl(PR_SET_NAME, name);
	if (handled) {
		struct sigaction sa = {.sa_handler = _exit};
		sigaction(SIGSEGV, &sa, NULL);
	}
	switch (kind) {
	case PAGE_FAULT:
		*(volatile int *)opaque(0) = 1;
		break;
	case INVALID_OPCODE:
		__asm__ volatile("ud2");
		break;
	case DIVIDE_ERROR:
		__asm__ volatile("xor %%ecx, %%ecx\n\tmov $1, %%eax\n\tcltd\n\tidiv %%ecx" ::: "eax", "ecx", "edx");
		break;
	case INT3:
		__asm__ volatile("int3");
		break;
	}
	_exit(3);
}

// expect_logged runs a child named name that dies of fault kind by
// signal sig, and checks that the log then holds the line
// printf(format, pid). The message is rate-limited (10 in 5 s, for the
// whole kernel natively, where other programs of the suite fault at the
// same time): a missing one is tried again after the interval.
static int expect_logged(const char *name, enum fault kind, int sig, const char *format) {
	int n = 0;
	char want[96];
	for (int attempt = 0;; attempt++) {
		fflush(NULL);
		pid_t pid = XFORK();
		if (pid == 0)
			fault_child(name, kind, 0);
		int status;
		CHECK_EQ(waitpid(pid, &status, 0), pid);
		if (!WIFSIGNALED(status) || WTERMSIG(status) != sig)
			FAIL("%s: status %#x, want death by signal %d", name, status, sig);
		n = read_log();
		snprintf(want, sizeof want, format, pid);
		if (strstr(logbuf, want) != NULL)
			return n;
		if (attempt == 2)
			FAIL("no \"%s\" in the log:\n%s", want, n > 2000 ? logbuf + n - 2000 : logbuf);
		sleep(6);
	}
}

static void unprivileged(void *arg) {
	int restricted = *(int *)arg;
	if (restricted)
		CHECK_ERR(klogctl(ACTION_READ_ALL, logbuf, LOG_CAP), EPERM);
	else
		CHECK(klogctl(ACTION_READ_ALL, logbuf, LOG_CAP) >= 0);
	if (restricted)
		CHECK_ERR(klogctl(ACTION_SIZE_BUFFER, NULL, 0), EPERM);
	else
		CHECK(klogctl(ACTION_SIZE_BUFFER, NULL, 0) > 0);
	CHECK_ERR(klogctl(ACTION_CLEAR, NULL, 0), EPERM);
	CHECK_ERR(klogctl(ACTION_READ, logbuf, 16), EPERM);
	CHECK_ERR(klogctl(ACTION_CLOSE, NULL, 0), EPERM);
	CHECK_ERR(klogctl(ACTION_SIZE_UNREAD, NULL, 0), EPERM);
	CHECK_ERR(klogctl(42, NULL, 0), EPERM); // restricted before unknown
}

int main(void) {
	CHECK(klogctl(ACTION_SIZE_BUFFER, NULL, 0) >= 4096);
	CHECK(klogctl(ACTION_SIZE_UNREAD, NULL, 0) >= 0);
	CHECK_EQ(klogctl(ACTION_CLOSE, NULL, 0), 0);
	CHECK_EQ(klogctl(ACTION_READ_ALL, logbuf, 0), 0);
	CHECK_ERR(klogctl(ACTION_READ_ALL, NULL, 16), EINVAL);
	CHECK_ERR(klogctl(ACTION_READ_ALL, logbuf, -1), EINVAL);
	CHECK_ERR(klogctl(ACTION_READ, NULL, 16), EINVAL);
	CHECK_ERR(klogctl(ACTION_READ, logbuf, -1), EINVAL);
	CHECK_EQ(klogctl(ACTION_READ, logbuf, 0), 0);
	CHECK_ERR(klogctl(ACTION_CONSOLE_LEVEL, NULL, 0), EINVAL);
	CHECK_ERR(klogctl(ACTION_CONSOLE_LEVEL, NULL, 9), EINVAL);
	CHECK_ERR(klogctl(11, NULL, 0), EINVAL);
	CHECK_ERR(klogctl(-1, NULL, 0), EINVAL);

	// A process killed by a fault it does not handle is logged, with
	// where it faulted; one that handles it is not.
	int n, status;
	char want[64];
	expect_logged("klogsegv", PAGE_FAULT, SIGSEGV, "] klogsegv[%d]: segfault at 0 ip ");
	expect_logged("klogill", INVALID_OPCODE, SIGILL, "] traps: klogill[%d] trap invalid opcode ip:");
	expect_logged("klogdiv", DIVIDE_ERROR, SIGFPE, "] traps: klogdiv[%d] trap divide error ip:");
	expect_logged("klogint3", INT3, SIGTRAP, "] traps: klogint3[%d] trap int3 ip:");
	fflush(NULL);
	pid_t handled = XFORK();
	if (handled == 0)
		fault_child("klogsegvh", PAGE_FAULT, 1);
	CHECK_EQ(waitpid(handled, &status, 0), handled);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == SIGSEGV);

	n = read_log();
	check_format(n);
	snprintf(want, sizeof want, "klogsegvh[%d]", handled);
	CHECK(strstr(logbuf, want) == NULL);
	// The log is not empty now: copying it to a bad buffer faults.
	CHECK_ERR(klogctl(ACTION_READ_ALL, bad_addr(), 4096), EFAULT);
	// A small buffer gets the newest whole records that fit.
	char small[1024];
	int m = klogctl(ACTION_READ_ALL, small, sizeof small);
	CHECK(m >= 0 && m <= (int)sizeof small && m <= n);
	if (m > 0) {
		CHECK(small[m - 1] == '\n');
		CHECK(memcmp(small, logbuf + n - m, m) == 0);
	}

	if (geteuid() == 0) {
		int restricted = 0;
		FILE *f = fopen("/proc/sys/kernel/dmesg_restrict", "r");
		CHECK(f != NULL && fscanf(f, "%d", &restricted) == 1);
		fclose(f);
		as_nobody(unprivileged, &restricted);
	}
	return 0;
}
