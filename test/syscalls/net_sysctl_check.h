// net_sysctl_check.h: helpers of the net_sysctl_* differential tests,
// which change the net.* sysctls of a fresh network namespace (so that
// natively, as root, they never touch the host's).
#ifndef COCOON_TEST_NET_SYSCTL_CHECK_H
#define COCOON_TEST_NET_SYSCTL_CHECK_H

#include "netlink_check.h"
#include "task_check.h"
#include <fcntl.h>
#include <sched.h>

// enter_netns moves the process to a new network namespace; without the
// privilege to (not root natively) the program has nothing to check and
// exits 0.
static inline void enter_netns(void) {
	if (unshare(CLONE_NEWNET) != 0) {
		CHECK_EQ(errno, EPERM);
		CHECK(geteuid() != 0);
		exit(0);
	}
}

// lo_set brings the namespace's lo up or down, as `ip link set lo up|down`
// does.
static inline void lo_set(int up) {
	int fd = nl_open();
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_index = 1, .ifi_flags = up ? IFF_UP : 0, .ifi_change = IFF_UP};
	nl_send(fd, RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, 1, &ifi, sizeof ifi);
	CHECK_EQ(nl_collect(fd, 1, NULL, NULL), 0);
	close(fd);
}

// lo_up brings the namespace's lo up.
static inline void lo_up(void) { lo_set(1); }

// sysctl_get reads /proc/sys/<name> into buf without its newline.
static inline const char *sysctl_get(const char *name, char *buf, size_t size) {
	char path[256];
	snprintf(path, sizeof path, "/proc/sys/%s", name);
	long n = read_text(path, buf, size);
	CHECK(n > 0);
	CHECK_EQ(buf[n - 1], '\n');
	buf[n - 1] = 0;
	return buf;
}

// sysctl_put writes value to /proc/sys/<name> in one write(2), not
// retried: 0, or the errno of the open or the write.
static inline int sysctl_put(const char *name, const char *value) {
	char path[256];
	snprintf(path, sizeof path, "/proc/sys/%s", name);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	ssize_t n = write(fd, value, strlen(value));
	int e = errno;
	close(fd);
	if (n < 0)
		return e;
	// Linux counts what it parsed (values past the vector's length
	// are not), so n may fall short of the length.
	CHECK(n > 0);
	return 0;
}

// SYSCTL_IS checks that /proc/sys/<name> reads want.
#define SYSCTL_IS(name, want)                                              \
	do {                                                               \
		char buf_[256];                                            \
		const char *got_ = sysctl_get(name, buf_, sizeof buf_);    \
		if (strcmp(got_, want) != 0)                               \
			FAIL("%s reads \"%s\", want \"%s\"", name, got_, want); \
	} while (0)

// SYSCTL_SET writes value, which must succeed.
#define SYSCTL_SET(name, value) CHECK_EQ(sysctl_put(name, value), 0)

// A sysctl_step writes put to sysctl name (NULL: no write) and expects
// errno err of the write (0: it succeeds); then, with want, checks what
// name reads.
struct sysctl_step {
	const char *name, *put;
	int err;
	const char *want;
};

static inline void sysctl_steps(const struct sysctl_step *steps, size_t n) {
	for (size_t i = 0; i < n; i++) {
		const struct sysctl_step *s = &steps[i];
		if (s->put) {
			int e = sysctl_put(s->name, s->put);
			if (e != s->err)
				FAIL("writing \"%s\" to %s: errno %d, want %d", s->put, s->name, e, s->err);
		}
		if (s->want)
			SYSCTL_IS(s->name, s->want);
	}
}

// RUN_STEPS runs an array of sysctl_steps.
#define RUN_STEPS(steps) sysctl_steps(steps, sizeof steps / sizeof steps[0])

#endif
