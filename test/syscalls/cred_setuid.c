// cred_setuid: starting as root, a child can set its groups and its
// real/effective/saved ids; with the saved uid still 0 it can switch its
// effective uid back and forth, and once all three are unprivileged it
// cannot regain root (EPERM for setuid, setresuid, setgroups, setgid) and has
// lost its effective and permitted capabilities; the parent is unaffected.
// Not root: only the EPERM half can be checked.
//
//go:build ignore

#include "task_check.h"
#include <grp.h>
#include <linux/capability.h>

// caps returns the effective (perm 0) or permitted (perm 1) set, low word.
static unsigned caps(int perm) {
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2];
	if (syscall(SYS_capget, &h, d) != 0)
		FAIL("capget (errno %d %s)", errno, errname(errno));
	return perm ? d[0].permitted | d[1].permitted : d[0].effective | d[1].effective;
}

int main(void) {
	uid_t uid = getuid();
	if (geteuid() != 0) {
		CHECK_ERR(setuid(0), EPERM);
		CHECK_ERR(setresuid(0, 0, 0), EPERM);
		gid_t g = 0;
		CHECK_ERR(setgroups(1, &g), EPERM);
		return 0;
	}
	pid_t pid = XFORK();
	if (pid == 0) {
		gid_t groups[] = {1001, 1002, 1003};
		CHECK_OK(setgroups(3, groups));
		gid_t got[8];
		CHECK_EQ(getgroups(8, got), 3);
		CHECK_EQ(got[0], 1001);
		CHECK_EQ(got[2], 1003);
		CHECK_ERR(getgroups(1, got), EINVAL);
		CHECK_OK(setresgid(2000, 2001, 2002));
		gid_t rg, eg, sg;
		CHECK_OK(getresgid(&rg, &eg, &sg));
		CHECK(rg == 2000 && eg == 2001 && sg == 2002);

		// Saved uid 0: the effective uid can go and come back.
		CHECK_OK(setresuid(1000, 1001, 0));
		uid_t r, e, s;
		CHECK_OK(getresuid(&r, &e, &s));
		CHECK(r == 1000 && e == 1001 && s == 0);
		CHECK_EQ(caps(0), 0); // effective caps drop with euid 0...
		CHECK(caps(1) != 0);  // ...permitted ones stay while an id is 0
		CHECK_OK(seteuid(0));
		CHECK_EQ(geteuid(), 0);
		CHECK_OK(seteuid(1000));
		CHECK_ERR(setgroups(0, NULL), EPERM);

		// All unprivileged: no way back.
		CHECK_OK(seteuid(0));
		CHECK_OK(setuid(1000)); // as root: sets all three
		CHECK_OK(getresuid(&r, &e, &s));
		CHECK(r == 1000 && e == 1000 && s == 1000);
		CHECK_EQ(caps(0), 0);
		CHECK_EQ(caps(1), 0);
		CHECK_ERR(setuid(0), EPERM);
		CHECK_ERR(seteuid(0), EPERM);
		CHECK_ERR(setresuid(-1, 0, -1), EPERM);
		CHECK_ERR(setuid(1001), EPERM);
		CHECK_ERR(setgid(0), EPERM);
		CHECK_ERR(setgroups(0, NULL), EPERM);
		CHECK_OK(setresuid(1000, 1000, 1000)); // keeping them is fine
		CHECK_ERR(kill(1, 0), EPERM);            // cannot signal root's init
		_exit(0);
	}
	WAIT_EXIT(pid, 0);
	CHECK_EQ(getuid(), uid);
	CHECK_EQ(geteuid(), 0);
	return 0;
}
