// mntns_clone: clone(CLONE_NEWNS) and clone3 with CLONE_NEWNS start the
// child in a copy of the caller's mount namespace: its mounts are not the
// caller's, /proc/<child>/ns/mnt differs from the caller's. CLONE_NEWNS
// with CLONE_FS is EINVAL; without CAP_SYS_ADMIN it is EPERM. Runs as
// root, in a private namespace of its own (mntns_check.h).
//
//go:build ignore

#include "mntns_check.h"
#include <linux/sched.h>

static long clone3_(uint64_t flags) {
	struct clone_args args;
	memset(&args, 0, sizeof args);
	args.flags = flags;
	args.exit_signal = SIGCHLD;
	return syscall(SYS_clone3, &args, sizeof args);
}

static void nobody(void *arg) {
	(void)arg;
	CHECK_ERR(syscall(SYS_clone, CLONE_NEWNS | SIGCHLD, 0, 0, 0, 0), EPERM);
	CHECK_ERR(clone3_(CLONE_NEWNS), EPERM);
}

// in_child runs in the new namespace: it mounts on name and waits.
static void in_child(const char *name, int ready, int go) {
	mount_tmpfs(spath(name));
	make_file(spath("m/in_child"), 0644, "c", 1);
	CHECK_EQ(write(ready, "1", 1), 1);
	char c;
	CHECK_EQ(read(go, &c, 1), 1);
	_exit(0);
}

static void test(void *arg) {
	(void)arg;
	CHECK_ERR(syscall(SYS_clone, CLONE_NEWNS | CLONE_FS | SIGCHLD, 0, 0, 0, 0), EINVAL);
	CHECK_ERR(clone3_(CLONE_NEWNS | CLONE_FS), EINVAL);
	unsigned long own = mnt_ns(0);
	for (int use3 = 0; use3 < 2; use3++) {
		int ready[2], go[2];
		CHECK_OK(pipe(ready));
		CHECK_OK(pipe(go));
		fflush(NULL);
		long pid = use3 ? clone3_(CLONE_NEWNS) : syscall(SYS_clone, CLONE_NEWNS | SIGCHLD, 0, 0, 0, 0);
		CHECK(pid >= 0);
		if (pid == 0)
			in_child("m", ready[1], go[0]);
		char c;
		CHECK_EQ(read(ready[0], &c, 1), 1);
		unsigned long theirs = mnt_ns(pid);
		CHECK(theirs != own);
		CHECK_EQ(mnt_ns(0), own);
		CHECK(!is_mounted(spath("m")));
		CHECK(!lexists(spath("m/in_child")));
		// The child's view, from here.
		char line[4096];
		CHECK(mountinfo_line_in("/proc", pid, spath("m"), line, sizeof line));
		CHECK_EQ(write(go[1], "1", 1), 1);
		WAIT_EXIT(pid, 0);
		close(ready[0]), close(ready[1]), close(go[0]), close(go[1]);
	}
}

int main(void) {
	if (geteuid() != 0)
		return 0;
	scratch();
	CHECK_OK(mkdir(spath("m"), 0755));
	in_private_ns(test, NULL);
	as_nobody(nobody, NULL);
	return 0;
}
