// mq_check.h: helpers for the POSIX message queue tests (mq_*.c).
//
// Natively each program first takes an IPC namespace of its own
// (mq_fresh_namespace); names still carry the process ID (mq_name) and
// programs unlink what they create, in case they run in the host's.
// Checks that depend on per-user accounting run as a user ID of their own
// (as_user): RLIMIT_MSGQUEUE charges a user's queues in every namespace.
#ifndef COCOON_TEST_MQ_CHECK_H
#define COCOON_TEST_MQ_CHECK_H

#include "task_check.h"
#include <grp.h>
#include <linux/capability.h>
#include <mqueue.h>
#include <poll.h>

// MQ_PRIO_MAX (Linux's, which <limits.h> does not define).
#ifndef MQ_PRIO_MAX
#define MQ_PRIO_MAX 32768
#endif

// mq_fresh_namespace gives the program, natively, an IPC namespace of its
// own: Linux's default limits and an empty mode-01777 root whatever the
// host did to its own. The sandbox refuses CLONE_NEWIPC (EINVAL): it is
// one IPC namespace, its own, already. Without root (EPERM) the program
// stays in the host's namespace.
static inline void mq_fresh_namespace(void) {
	if (unshare(CLONE_NEWIPC) != 0 && errno != EINVAL && errno != EPERM)
		FAIL("unshare(CLONE_NEWIPC) (errno %d %s)", errno, errname(errno));
}

// mq_name returns "/cocoon-TAG-PID" (allocated; programs are short).
static inline const char *mq_name(const char *tag) {
	char *b = malloc(64);
	if (!b)
		FAIL("malloc");
	snprintf(b, 64, "/cocoon-%s-%d", tag, (int)getpid());
	return b;
}

// mq_make creates (exclusively) a queue with maxmsg and msgsize, mode
// 0600, opened with flags (O_RDWR, O_NONBLOCK...).
static inline mqd_t mq_make(const char *name, int flags, long maxmsg, long msgsize) {
	struct mq_attr a = {0, maxmsg, msgsize, 0, {0}};
	mq_unlink(name);
	mqd_t q = mq_open(name, O_CREAT | O_EXCL | flags, 0600, &a);
	if (q < 0)
		FAIL("mq_open(%s, maxmsg %ld, msgsize %ld) (errno %d %s)", name, maxmsg, msgsize, errno, errname(errno));
	return q;
}

// mq_status reads a queue file's status line (read(2) of an mq
// descriptor) into buf.
static inline void mq_status(mqd_t q, char *buf, size_t size) {
	ssize_t n = pread(q, buf, size - 1, 0);
	if (n <= 0)
		FAIL("pread(mq %d) = %zd (errno %d %s)", q, n, errno, errname(errno));
	buf[n] = 0;
}

// mq_status_fields parses the status line's numbers.
static inline void mq_status_fields(mqd_t q, unsigned long *qsize, int *notify, int *signo, int *pid) {
	char buf[128];
	mq_status(q, buf, sizeof buf);
	if (sscanf(buf, "QSIZE:%lu NOTIFY:%d SIGNO:%d NOTIFY_PID:%d", qsize, notify, signo, pid) != 4)
		FAIL("status line %s", buf);
}

// has_cap reports whether cap is in the effective set.
static inline int has_cap(int cap) {
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2];
	if (syscall(SYS_capget, &h, d) != 0)
		FAIL("capget (errno %d %s)", errno, errname(errno));
	return (d[cap / 32].effective >> (cap % 32)) & 1;
}

// as_user runs fn() in a forked child whose user and group IDs are all
// uid (which drops every capability) and fails the test unless fn returns
// (the child then exits 0). It requires root.
static inline void as_user(uid_t uid, void (*fn)(void)) {
	fflush(NULL);
	pid_t pid = XFORK();
	if (pid == 0) {
		if (setgroups(0, NULL) != 0 || setresgid(uid, uid, uid) != 0 || setresuid(uid, uid, uid) != 0)
			FAIL("dropping to uid %d (errno %d %s)", (int)uid, errno, errname(errno));
		fn();
		fflush(NULL);
		_exit(0);
	}
	WAIT_EXIT(pid, 0);
}

// wait_sleeping waits (up to about 5 s) until the task whose stat file
// is path sleeps ('S'), then a little longer so that it is surely asleep
// in the call it was about to make.
static inline void wait_sleeping(const char *path) {
	char buf[512];
	for (int i = 0; i < 5000; i++) {
		if (read_text(path, buf, sizeof buf) > 0) {
			char *p = strrchr(buf, ')');
			if (p && p[1] == ' ' && p[2] == 'S') {
				msleep(20);
				return;
			}
		}
		usleep(1000);
	}
	FAIL("%s never slept", path);
}

// wait_thread_blocked waits until thread tid of this process sleeps.
static inline void wait_thread_blocked(pid_t tid) {
	char path[64];
	snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)tid);
	wait_sleeping(path);
}

// wait_child_blocked waits until (single-threaded) process pid sleeps.
static inline void wait_child_blocked(pid_t pid) {
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	wait_sleeping(path);
}

// deadline_ms returns CLOCK_REALTIME now plus ms, for the timed calls.
static inline struct timespec deadline_ms(long ms) {
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	t.tv_sec += ms / 1000;
	t.tv_nsec += (ms % 1000) * 1000000L;
	if (t.tv_nsec >= 1000000000L) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000L;
	}
	return t;
}

#endif
