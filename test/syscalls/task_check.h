// task_check.h: helpers for the process, thread, signal and futex tests
// (the kernel-core programs): forking and waiting with checks, futex and
// clone wrappers, sleeping, reading whole files and re-executing oneself.
#ifndef COCOON_TEST_TASK_CHECK_H
#define COCOON_TEST_TASK_CHECK_H

#include "check.h"
#include "time_check.h"
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>

// wstatus_str describes a wait status ("exit 3", "signal 9 (core)", ...).
static inline const char *wstatus_str(int ws) {
	static char buf[64];
	if (WIFEXITED(ws))
		snprintf(buf, sizeof buf, "exit %d", WEXITSTATUS(ws));
	else if (WIFSIGNALED(ws))
		snprintf(buf, sizeof buf, "signal %d%s", WTERMSIG(ws), WCOREDUMP(ws) ? " (core)" : "");
	else if (WIFSTOPPED(ws))
		snprintf(buf, sizeof buf, "stopped by %d", WSTOPSIG(ws));
	else if (WIFCONTINUED(ws))
		snprintf(buf, sizeof buf, "continued");
	else
		snprintf(buf, sizeof buf, "status %#x", ws);
	return buf;
}

// XFORK(): fork, failing the test if it cannot.
#define XFORK()                                                            \
	({                                                                 \
		pid_t p_ = fork();                                         \
		if (p_ < 0)                                                \
			FAIL("fork (errno %d %s)", errno, errname(errno)); \
		p_;                                                        \
	})

// WAITPID(pid, flags): waitpid that must return pid; yields the status.
#define WAITPID(pid, flags)                                                \
	({                                                                 \
		int ws_ = 0;                                               \
		pid_t w_;                                                  \
		do                                                         \
			w_ = waitpid((pid), &ws_, (flags));                \
		while (w_ < 0 && errno == EINTR);                          \
		if (w_ != (pid))                                           \
			FAIL("waitpid(%d) (got %d errno %d %s)", (int)(pid), \
			     (int)w_, errno, errname(errno));              \
		ws_;                                                       \
	})

// WAIT_EXIT(pid, code): pid must exit normally with code.
#define WAIT_EXIT(pid, code)                                               \
	do {                                                               \
		int s_ = WAITPID(pid, 0);                                  \
		if (!WIFEXITED(s_) || WEXITSTATUS(s_) != (code))           \
			FAIL("child %d: got %s, want exit %d", (int)(pid), \
			     wstatus_str(s_), (code));                     \
	} while (0)

// WAIT_KILLED(pid, sig): pid must be killed by sig (no core dump bit).
#define WAIT_KILLED(pid, sig)                                              \
	do {                                                               \
		int s_ = WAITPID(pid, 0);                                  \
		if (!WIFSIGNALED(s_) || WTERMSIG(s_) != (sig))             \
			FAIL("child %d: got %s, want signal %d", (int)(pid), \
			     wstatus_str(s_), (sig));                      \
	} while (0)

// proc_stat_field returns field n (1-based, n >= 3) of /proc/PID/stat as
// a number, counting from after the command's closing parenthesis.
static inline long proc_stat_field(pid_t pid, int n) {
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		FAIL("opening %s (errno %d %s)", path, errno, errname(errno));
	if (fgets(buf, sizeof buf, f) == NULL)
		FAIL("reading %s", path);
	fclose(f);
	char *p = strrchr(buf, ')');
	if (p == NULL)
		FAIL("no ')' in %s", buf);
	p += 2; // field 3, the state
	for (int field = 3; field < n; field++) {
		p = strchr(p, ' ');
		if (p == NULL)
			FAIL("%s has fewer than %d fields", path, n);
		p++;
	}
	return strtol(p, NULL, 10);
}

// no_core makes sure a core-dumping signal cannot write a core file.
static inline void no_core(void) {
	struct rlimit r = {0, 0};
	if (setrlimit(RLIMIT_CORE, &r) != 0 || prctl(PR_SET_DUMPABLE, 0) != 0)
		FAIL("disabling core dumps (errno %d %s)", errno, errname(errno));
}

// msleep sleeps ms milliseconds, resuming after signal handlers.
static inline void msleep(long ms) {
	struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&t, &t) != 0)
		if (errno != EINTR)
			FAIL("nanosleep (errno %d %s)", errno, errname(errno));
}

static inline long futex(void *uaddr, int op, int val, const struct timespec *ts, void *uaddr2, int val3) {
	return syscall(SYS_futex, uaddr, op, val, ts, uaddr2, val3);
}

// futex_wake_n wakes waiters on addr (FUTEX_WAKE, op may add
// FUTEX_PRIVATE_FLAG) one at a time until n have been woken, polling for
// waiters that have not gone to sleep yet; it fails after about 5 s.
static inline void futex_wake_n(void *addr, int op, int n) {
	int woken = 0;
	for (int i = 0; woken < n; i++) {
		long r = futex(addr, op, 1, NULL, NULL, 0);
		if (r < 0)
			FAIL("FUTEX_WAKE (errno %d %s)", errno, errname(errno));
		woken += r;
		if (r == 0) {
			if (i > 5000)
				FAIL("FUTEX_WAKE found %d of %d waiters", woken, n);
			usleep(1000);
		}
	}
}

// read_text reads a whole (small) file into buf, NUL-terminated; it returns
// the length, or -1 with errno set.
static inline long read_text(const char *path, char *buf, size_t size) {
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t n = 0;
	for (;;) {
		if (n + 1 >= size) {
			close(fd);
			errno = EFBIG;
			return -1;
		}
		ssize_t r = read(fd, buf + n, size - 1 - n);
		if (r < 0) {
			int e = errno;
			close(fd);
			errno = e;
			return -1;
		}
		if (r == 0)
			break;
		n += r;
	}
	buf[n] = 0;
	close(fd);
	return n;
}

static inline void install(int sig, void (*fn)(int, siginfo_t *, void *), int flags) {
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = fn;
	sa.sa_flags = SA_SIGINFO | flags;
	sigemptyset(&sa.sa_mask);
	if (sigaction(sig, &sa, NULL) != 0)
		FAIL("sigaction(%d) (errno %d %s)", sig, errno, errname(errno));
}

static inline void block(int sig, int how) {
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, sig);
	if (sigprocmask(how, &s, NULL) != 0)
		FAIL("sigprocmask (errno %d %s)", errno, errname(errno));
}

// reexec runs this program again as `argv0 FIXTURE MODE [ARG]` (with the
// given environment, or the current one if env is NULL); it only returns on
// failure. The re-executed program dispatches on argv[2].
static inline void reexec(char **argv, const char *mode, const char *arg, char **env) {
	extern char **environ;
	char *args[] = {argv[0], argv[1], (char *)mode, (char *)arg, NULL};
	execve(argv[0], args, env ? env : environ);
	FAIL("execve(%s) (errno %d %s)", argv[0], errno, errname(errno));
}

#endif
