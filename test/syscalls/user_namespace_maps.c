// user_namespace_maps: writing uid_map and gid_map. The parent of a
// clone(CLONE_NEWUSER) child, which owns its namespace, writes the child's
// maps (several extents: it has CAP_SETUID and CAP_SETGID) and the child
// sees them; a reader in the parent namespace sees the lower IDs as its
// own. Malformed maps are EINVAL: junk, a zero or wrapping count,
// overlapping ranges on either side, (u32)-1 as an ID.
// The initial namespace's maps are the identity and cannot be written
// (EPERM). A process in neither the namespace nor its parent cannot write
// its maps (EPERM), nor can a file opened without CAP_SETUID map other
// IDs than the opener's. clone with CLONE_NEWUSER|CLONE_FS or CLONE_THREAD is
// EINVAL.
//
//go:build ignore

#include "userns_check.h"

static char stack[64 * 1024] __attribute__((aligned(16)));
static int to_child[2];

static int child(void *arg) {
	(void)arg;
	close(to_child[1]); // so that a parent that failed is seen
	sync_wait(to_child[0]);
	CHECK_EQ((long)getuid(), 0);
	CHECK_EQ((long)getgid(), 0);
	CHECK_OK(setresgid(1005, 1005, 1005));
	CHECK_EQ((long)getegid(), 1005);
	CHECK_OK(setuid(5));
	CHECK_EQ((long)geteuid(), 5);
	CHECK_EQ(effective_caps(), 0); // no longer root there
	CHECK_ERR(setuid(0), EPERM);
	char buf[256];
	proc_read(0, "uid_map", buf, sizeof buf);
	char want[128];
	strcpy(want, map_fmt(0, 0, 1));
	strcat(want, map_fmt(1, 100000, 999));
	strcat(want, map_fmt(1000, 5000, 10));
	CHECK(strcmp(buf, want) == 0);
	return 0;
}

int main(void) {
	char buf[256];
	// The initial namespace.
	proc_read(0, "uid_map", buf, sizeof buf);
	CHECK(strcmp(buf, map_fmt(0, 0, 4294967295u)) == 0);
	proc_read(0, "gid_map", buf, sizeof buf);
	CHECK(strcmp(buf, map_fmt(0, 0, 4294967295u)) == 0);
	if (getuid() != 0 || !has_cap(CAP_SETUID) || !has_cap(CAP_SETGID))
		return 0; // the rest maps IDs other than ours
	CHECK_ERR(proc_write(0, "uid_map", "0 0 1"), EPERM);

	CHECK_ERR(clone(child, stack + sizeof stack, CLONE_NEWUSER | CLONE_FS | SIGCHLD, NULL), EINVAL);
	CHECK_ERR(clone(child, stack + sizeof stack, CLONE_NEWUSER | CLONE_THREAD | CLONE_SIGHAND | CLONE_VM, NULL), EINVAL);

	CHECK_OK(pipe(to_child));
	pid_t pid = clone(child, stack + sizeof stack, CLONE_NEWUSER | SIGCHLD, NULL);
	CHECK(pid > 0);
	// Malformed maps.
	const char *bad[] = {"x", "0 0", "0 0 1 x", "0 0 0", "0 0 1\n\n", "4294967295 0 1",
			     "0 4294967295 1", "4294967290 0 10", "0 0 10\n5 100 1",
			     "0 0 10\n100 5 1", "0 0 1,", NULL};
	for (int i = 0; bad[i]; i++) {
		if (proc_write(pid, "uid_map", bad[i]) == 0 || errno != EINVAL)
			FAIL("uid_map %s: got errno %d %s, want EINVAL", bad[i], errno, errname(errno));
	}
	// A map is checked against the file's opener as well as the
	// writer: one opened without CAP_SETUID cannot map other IDs, even
	// when written with it.
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct caps[2], none[2];
	CHECK_OK(syscall(SYS_capget, &h, caps));
	memcpy(none, caps, sizeof none);
	none[0].effective = none[1].effective = 0;
	CHECK_OK(syscall(SYS_capset, &h, none));
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/uid_map", (int)pid);
	int fd = open(path, O_WRONLY);
	CHECK(fd >= 0);
	CHECK_OK(syscall(SYS_capset, &h, caps));
	CHECK_ERR(write(fd, "0 0 10", 6), EPERM);
	close(fd);

	// A process in a sibling namespace cannot write them.
	pid_t other = XFORK();
	if (other == 0) {
		CHECK_OK(unshare(CLONE_NEWUSER));
		CHECK_ERR(proc_write(pid, "uid_map", "0 0 1"), EPERM);
		_exit(0);
	}
	WAIT_EXIT(other, 0);
	CHECK_OK(proc_write(pid, "uid_map", "0 0 1\n1 100000 999\n1000 5000 10\n"));
	CHECK_OK(proc_write(pid, "gid_map", " 0 0 1  \n1 100000 999\n1000 1000 10"));
	CHECK_ERR(proc_write(pid, "uid_map", "0 0 1"), EPERM);
	proc_read(pid, "gid_map", buf, sizeof buf);
	char want[128];
	strcpy(want, map_fmt(0, 0, 1));
	strcat(want, map_fmt(1, 100000, 999));
	strcat(want, map_fmt(1000, 1000, 10));
	CHECK(strcmp(buf, want) == 0);

	sync_post(to_child[1]);
	WAIT_EXIT(pid, 0);
	return 0;
}
