// user_namespace_caps: capabilities held in a user namespace count only
// for what that namespace owns. Inside a new one the caller has every
// capability, yet sethostname on the UTS namespace and mount on the mount
// namespace it still shares with its parent (owned by the parent user
// namespace) are EPERM, and so is joining the parent user namespace or a
// cgroup namespace the parent owns; a cgroup namespace it creates is its
// own to join. Re-entering its own user namespace is EINVAL. From
// outside, the namespace's creator (same effective user ID, in the
// parent) may join it and is then root there with every capability; a
// process with another user ID and no capabilities may not (EPERM).
//
//go:build ignore

#include "userns_check.h"
#include <sys/mount.h>

int main(int argc, char **argv) {
	(void)argc;
	unsigned uid = getuid(), gid = getgid();
	int to_child[2], to_parent[2];
	CHECK_OK(pipe(to_child));
	CHECK_OK(pipe(to_parent));
	char parent_ns[64];
	snprintf(parent_ns, sizeof parent_ns, "/proc/%d/ns/user", (int)getpid());
	pid_t pid = XFORK();
	if (pid == 0) {
		close(to_child[1]);
		close(to_parent[0]);
		int cgroup_before = open("/proc/self/ns/cgroup", O_RDONLY);
		CHECK(cgroup_before >= 0);
		int user_before = open(parent_ns, O_RDONLY);
		CHECK(user_before >= 0);
		CHECK_OK(unshare(CLONE_NEWUSER));
		char map[64];
		CHECK_OK(proc_write(0, "setgroups", "deny"));
		snprintf(map, sizeof map, "0 %u 1", uid);
		CHECK_OK(proc_write(0, "uid_map", map));
		snprintf(map, sizeof map, "0 %u 1", gid);
		CHECK_OK(proc_write(0, "gid_map", map));
		CHECK(has_cap(CAP_SYS_ADMIN));

		CHECK_ERR(sethostname("x", 1), EPERM);
		CHECK_ERR(mount("none", argv[1], "tmpfs", 0, NULL), EPERM);
		CHECK_ERR(setns(user_before, CLONE_NEWUSER), EPERM);
		int fd = open("/proc/self/ns/user", O_RDONLY);
		CHECK(fd >= 0);
		CHECK_ERR(setns(fd, CLONE_NEWUSER), EINVAL);
		close(fd);
		CHECK_ERR(setns(cgroup_before, CLONE_NEWCGROUP), EPERM);
		CHECK_OK(unshare(CLONE_NEWCGROUP));
		int cgroup_own = open("/proc/self/ns/cgroup", O_RDONLY);
		CHECK(cgroup_own >= 0);
		CHECK_OK(setns(cgroup_own, CLONE_NEWCGROUP));
		CHECK(has_cap(CAP_SYS_ADMIN));

		sync_post(to_parent[1]);
		sync_wait(to_child[0]);
		_exit(0);
	}
	close(to_child[0]);
	close(to_parent[1]);
	sync_wait(to_parent[0]);
	char child_ns[64], want[64], got[64];
	snprintf(child_ns, sizeof child_ns, "/proc/%d/ns/user", (int)pid);
	ns_link(pid, want, sizeof want);

	// The creator joins it and is root there.
	pid_t c = XFORK();
	if (c == 0) {
		int fd = open(child_ns, O_RDONLY);
		CHECK(fd >= 0);
		CHECK_OK(setns(fd, CLONE_NEWUSER));
		CHECK(strcmp(ns_link(0, got, sizeof got), want) == 0);
		CHECK_EQ((long)getuid(), 0);
		CHECK_EQ(effective_caps(), (1ULL << (CAP_LAST_CAP + 1)) - 1);
		_exit(0);
	}
	WAIT_EXIT(c, 0);

	// Another user without capabilities may not.
	if (uid == 0 && has_cap(CAP_SETUID)) {
		c = XFORK();
		if (c == 0) {
			int fd = open(child_ns, O_RDONLY);
			CHECK(fd >= 0);
			CHECK_OK(setresuid(65534, 65534, 65534));
			CHECK_ERR(setns(fd, CLONE_NEWUSER), EPERM);
			_exit(0);
		}
		WAIT_EXIT(c, 0);
	}
	sync_post(to_child[1]);
	WAIT_EXIT(pid, 0);
	return 0;
}
