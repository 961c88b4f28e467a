// mntns_unshare_private: unshare(CLONE_NEWNS) gives the caller a copy of
// its mount tree. With private mounts, a mount made in the copy is not
// seen by the parent's namespace and a mount the parent makes later is
// not seen by the copy; an unmount in the copy leaves the parent's mount
// alone. The copy of a mount is the same file system (a file made through
// it shows in the parent's), and a working directory inside a mount moves
// to the copy of that mount. Without CAP_SYS_ADMIN unshare is EPERM. Runs
// as root, in a private namespace of its own (mntns_check.h).
//
//go:build ignore

#include "mntns_check.h"

static void nobody(void *arg) {
	(void)arg;
	CHECK_ERR(unshare(CLONE_NEWNS), EPERM);
}

static void test(void *arg) {
	(void)arg;
	// shared before the copy: a mount with a file on it.
	mount_tmpfs(spath("shared"));
	make_file(spath("shared/z"), 0644, "z", 1);
	int to_child[2], to_parent[2];
	CHECK_OK(pipe(to_child));
	CHECK_OK(pipe(to_parent));
	char c;
	fflush(NULL);
	pid_t pid = XFORK();
	if (pid == 0) {
		CHECK_OK(chdir(spath("shared")));
		unsigned long before = mnt_ns(0);
		CHECK_OK(unshare(CLONE_NEWNS));
		CHECK(mnt_ns(0) != before);
		// The copy has the mounts of before, and the working
		// directory is in the copy of its mount.
		CHECK(is_mounted(spath("shared")));
		CHECK(lexists("z"));
		make_file("from_child", 0644, "c", 1);
		mount_tmpfs(spath("child_only"));
		make_file(spath("child_only/x"), 0644, "x", 1);
		CHECK_OK(umount2(spath("shared"), MNT_DETACH));
		CHECK(!lexists(spath("shared/z")));
		CHECK(lexists("z")); // the detached mount is still the cwd
		CHECK_EQ(write(to_parent[1], "1", 1), 1);
		CHECK_EQ(read(to_child[0], &c, 1), 1);
		// The parent's later mount is not here.
		CHECK(!is_mounted(spath("parent_only")));
		CHECK(!lexists(spath("parent_only/y")));
		_exit(0);
	}
	CHECK_EQ(read(to_parent[0], &c, 1), 1);
	CHECK(!is_mounted(spath("child_only")));
	CHECK(!lexists(spath("child_only/x")));
	CHECK(is_mounted(spath("shared")));
	CHECK(lexists(spath("shared/z")));
	CHECK(lexists(spath("shared/from_child")));
	mount_tmpfs(spath("parent_only"));
	make_file(spath("parent_only/y"), 0644, "y", 1);
	CHECK_EQ(write(to_child[1], "1", 1), 1);
	WAIT_EXIT(pid, 0);
	CHECK_OK(umount2(spath("parent_only"), 0));
	CHECK_OK(umount2(spath("shared"), 0));
}

int main(void) {
	if (geteuid() != 0)
		return 0;
	scratch();
	CHECK_OK(mkdir(spath("shared"), 0755));
	CHECK_OK(mkdir(spath("child_only"), 0755));
	CHECK_OK(mkdir(spath("parent_only"), 0755));
	in_private_ns(test, NULL);
	as_nobody(nobody, NULL);
	return 0;
}
