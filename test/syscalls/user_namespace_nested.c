// user_namespace_nested: user namespaces nest. A process that maps its
// IDs at each level ("0 0 1", its own root) can create namespaces down to
// level 33 below the initial one; the 34th level is ENOSPC. Creating one
// needs the caller's effective IDs to have a mapping in its namespace
// (EPERM before uid_map is written). (Linux's limit reads "a parent of
// level 32 or less", so the deepest namespace is at level 33.) At every level the caller reads as
// root, its uid_map shows the mapping in the parent's IDs, and each level
// has its own ns/user.
//
//go:build ignore

#include "userns_check.h"

// enter makes a namespace below the caller's and maps its IDs (root to
// root, as the parent sees it: 0 inside the first level down).
static void enter(unsigned uid, unsigned gid) {
	CHECK_OK(unshare(CLONE_NEWUSER));
	char map[64];
	CHECK_OK(proc_write(0, "setgroups", "deny"));
	snprintf(map, sizeof map, "0 %u 1", uid);
	CHECK_OK(proc_write(0, "uid_map", map));
	snprintf(map, sizeof map, "0 %u 1", gid);
	CHECK_OK(proc_write(0, "gid_map", map));
}

int main(void) {
	unsigned uid = getuid(), gid = getgid();
	pid_t pid = XFORK();
	if (pid == 0) {
		char prev[64], cur[64], buf[256];
		// Unmapped effective IDs cannot own a namespace.
		pid_t c = XFORK();
		if (c == 0) {
			CHECK_OK(unshare(CLONE_NEWUSER));
			CHECK_ERR(unshare(CLONE_NEWUSER), EPERM);
			_exit(0);
		}
		WAIT_EXIT(c, 0);

		ns_link(0, prev, sizeof prev);
		enter(uid, gid);
		for (int level = 2; level <= 33; level++) {
			enter(0, 0);
			CHECK(strcmp(ns_link(0, cur, sizeof cur), prev) != 0);
			strcpy(prev, cur);
			CHECK_EQ((long)getuid(), 0);
			proc_read(0, "uid_map", buf, sizeof buf);
			CHECK(strcmp(buf, map_fmt(0, 0, 1)) == 0);
			CHECK(has_cap(CAP_SYS_ADMIN));
		}
		CHECK_ERR(unshare(CLONE_NEWUSER), ENOSPC);
		_exit(0);
	}
	WAIT_EXIT(pid, 0);
	return 0;
}
