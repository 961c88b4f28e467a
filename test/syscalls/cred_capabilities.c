// cred_capabilities: capget reports the effective/permitted/inheritable sets
// (of ourselves or of another process by pid), answers an unknown version
// with EINVAL and the version it wants; capset can drop capabilities (a root
// process without CAP_SETUID cannot setuid: EPERM) but never raise permitted
// ones back (EPERM), and effective must stay within permitted (EPERM); the
// dropped sets are inherited by fork.
//
//go:build ignore

#include "task_check.h"
#include <linux/capability.h>

typedef struct __user_cap_header_struct hdr_t;
typedef struct __user_cap_data_struct data_t;

static void get(pid_t pid, data_t d[2]) {
	hdr_t h = {_LINUX_CAPABILITY_VERSION_3, pid};
	if (syscall(SYS_capget, &h, d) != 0)
		FAIL("capget(%d) (errno %d %s)", pid, errno, errname(errno));
}

static int set(data_t d[2]) {
	hdr_t h = {_LINUX_CAPABILITY_VERSION_3, 0};
	return syscall(SYS_capset, &h, d);
}

#define BIT(c) (1u << (c))

int main(void) {
	hdr_t h = {0x12345678, 0};
	data_t d[2];
	CHECK_ERR(syscall(SYS_capget, &h, d), EINVAL);
	CHECK_EQ(h.version, _LINUX_CAPABILITY_VERSION_3);
	h.version = _LINUX_CAPABILITY_VERSION_3;
	CHECK_EQ(syscall(SYS_capget, &h, NULL), 0); // a probe
	h.pid = -5;
	CHECK_ERR(syscall(SYS_capget, &h, d), EINVAL);

	get(0, d);
	CHECK_EQ(d[0].effective & ~d[0].permitted, 0);
	if (!(d[0].effective & BIT(CAP_SETUID)) || !(d[0].effective & BIT(CAP_SETPCAP))) {
		// Unprivileged: raising anything is refused.
		d[0].permitted |= BIT(CAP_SETUID);
		CHECK_ERR(set(d), EPERM);
		return 0;
	}
	int p[2];
	CHECK_OK(pipe(p));
	pid_t pid = XFORK();
	if (pid == 0) {
		data_t c[2];
		get(0, c);
		c[0].effective &= ~BIT(CAP_SETUID);
		c[0].permitted &= ~BIT(CAP_SETUID);
		c[0].inheritable = 0;
		c[1].inheritable = 0;
		CHECK_OK(set(c));
		CHECK_EQ(geteuid(), 0);
		CHECK_ERR(setuid(1000), EPERM);
		data_t again[2];
		get(0, again);
		CHECK_EQ(again[0].permitted & BIT(CAP_SETUID), 0);
		again[0].permitted |= BIT(CAP_SETUID);
		CHECK_ERR(set(again), EPERM); // no raising
		get(0, again);
		again[0].effective |= BIT(CAP_SETUID); // not permitted
		CHECK_ERR(set(again), EPERM);
		// Drop CAP_KILL from effective only, then take it back: allowed.
		get(0, again);
		again[0].effective &= ~BIT(CAP_KILL);
		CHECK_OK(set(again));
		again[0].effective |= BIT(CAP_KILL);
		CHECK_OK(set(again));
		pid_t gc = XFORK(); // inherited
		if (gc == 0) {
			data_t g[2];
			get(0, g);
			_exit(g[0].permitted & BIT(CAP_SETUID) ? 1 : 0);
		}
		WAIT_EXIT(gc, 0);
		CHECK_EQ(write(p[1], "d", 1), 1);
		pause();
		_exit(0);
	}
	char c;
	CHECK_EQ(read(p[0], &c, 1), 1);
	data_t other[2];
	get(pid, other); // the child's, read from outside
	CHECK_EQ(other[0].permitted & BIT(CAP_SETUID), 0);
	CHECK(other[0].permitted & BIT(CAP_KILL));
	get(0, d);
	CHECK(d[0].permitted & BIT(CAP_SETUID)); // ours is intact
	CHECK_OK(kill(pid, SIGKILL));
	WAIT_KILLED(pid, SIGKILL);
	return 0;
}
