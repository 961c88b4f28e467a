// user_namespace_unshare: what `unshare -r` does. After
// unshare(CLONE_NEWUSER) the caller has every capability in the new
// namespace, its IDs read as the overflow ID 65534 until uid_map and
// gid_map map them, setgroups must be denied before an unprivileged
// gid_map write, and once "0 UID 1" is written the caller is root there
// (getuid and friends return 0, /proc/self/uid_map shows the map in the
// parent's IDs). Each map is written once; an unmapped ID cannot be set
// (EINVAL). The ns/user link changes. A multi-threaded process cannot
// unshare a user namespace (EINVAL).
//
//go:build ignore

#include "userns_check.h"

static void *idle(void *arg) {
	(void)arg;
	pause();
	return NULL;
}

int main(void) {
	uid_t uid = getuid();
	gid_t gid = getgid();
	char before[64], after[64], buf[256];
	ns_link(0, before, sizeof before);

	// A process of two threads cannot unshare one.
	pid_t pid = XFORK();
	if (pid == 0) {
		pthread_t th;
		CHECK_EQ(pthread_create(&th, NULL, idle, NULL), 0);
		CHECK_ERR(unshare(CLONE_NEWUSER), EINVAL);
		_exit(0);
	}
	WAIT_EXIT(pid, 0);

	pid = XFORK();
	if (pid == 0) {
		CHECK_OK(unshare(CLONE_NEWUSER));
		CHECK(strcmp(ns_link(0, after, sizeof after), before) != 0);
		CHECK_EQ((long)getuid(), 65534);
		CHECK_EQ((long)geteuid(), 65534);
		CHECK_EQ((long)getgid(), 65534);
		uid_t r, e, s;
		CHECK_OK(getresuid(&r, &e, &s));
		CHECK(r == 65534 && e == 65534 && s == 65534);
		int n = getgroups(0, NULL);
		CHECK(n >= 0);
		gid_t groups[64];
		CHECK_EQ(getgroups(64, groups), n);
		for (int i = 0; i < n; i++)
			CHECK_EQ((long)groups[i], 65534);
		// Every capability, in the new namespace.
		CHECK(has_cap(CAP_SYS_ADMIN) && has_cap(CAP_SETUID) && has_cap(CAP_SETGID));
		CHECK_EQ(effective_caps(), (1ULL << (CAP_LAST_CAP + 1)) - 1);
		// No maps yet.
		proc_read(0, "uid_map", buf, sizeof buf);
		CHECK_EQ(strlen(buf), 0);
		CHECK_ERR(setuid(0), EINVAL);

		proc_read(0, "setgroups", buf, sizeof buf);
		CHECK(strcmp(buf, "allow\n") == 0);
		CHECK_OK(proc_write(0, "setgroups", "deny"));
		proc_read(0, "setgroups", buf, sizeof buf);
		CHECK(strcmp(buf, "deny\n") == 0);
		char map[64];
		snprintf(map, sizeof map, "0 %u 1\n", uid);
		CHECK_OK(proc_write(0, "uid_map", map));
		snprintf(map, sizeof map, "0 %u 1", gid);
		CHECK_OK(proc_write(0, "gid_map", map));

		CHECK_EQ((long)getuid(), 0);
		CHECK_EQ((long)geteuid(), 0);
		CHECK_EQ((long)getgid(), 0);
		CHECK_EQ((long)getegid(), 0);
		proc_read(0, "uid_map", buf, sizeof buf);
		CHECK(strcmp(buf, map_fmt(0, uid, 1)) == 0);
		proc_read(0, "gid_map", buf, sizeof buf);
		CHECK(strcmp(buf, map_fmt(0, gid, 1)) == 0);
		// Written once.
		CHECK_ERR(proc_write(0, "uid_map", "0 0 1"), EPERM);
		CHECK_ERR(proc_write(0, "gid_map", "0 0 1"), EPERM);
		// setgroups stays denied.
		CHECK_ERR(proc_write(0, "setgroups", "allow"), EPERM);
		CHECK_ERR(setgroups(0, NULL), EPERM);
		// Only mapped IDs can be set.
		CHECK_OK(setuid(0));
		CHECK_OK(setresuid(-1, -1, -1));
		CHECK_ERR(setuid(1), EINVAL);
		CHECK_ERR(setgid(1), EINVAL);
		CHECK_ERR(setreuid(-1, 1), EINVAL);
		CHECK_ERR(setresgid(1, -1, -1), EINVAL);
		CHECK_EQ((long)setfsuid(-1), 0);
		CHECK_EQ((long)setfsuid(1), 0); // refused: unchanged
		CHECK_EQ((long)setfsuid(-1), 0);
		_exit(0);
	}
	WAIT_EXIT(pid, 0);
	// The parent's IDs and namespace are untouched.
	CHECK_EQ((long)getuid(), (long)uid);
	CHECK(strcmp(ns_link(0, after, sizeof after), before) == 0);
	return 0;
}
