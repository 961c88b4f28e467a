// pivot_root_errors: pivot_root(2)'s checks. EPERM without CAP_SYS_ADMIN;
// ENOENT and ENOTDIR for bad paths; EBUSY when new_root or put_old is on
// the current root's mount; EINVAL when new_root is not a mount point,
// when put_old is not at or below new_root, when put_old's mount is
// shared, and when the caller's root (after chroot into a directory) is
// not a mount point. Runs as root, in a private namespace of its own
// (mntns_check.h).
//
//go:build ignore

#include "mntns_check.h"

static long pivot(const char *new_root, const char *put_old) {
	return syscall(SYS_pivot_root, new_root, put_old);
}

static void nobody(void *arg) {
	(void)arg;
	CHECK_ERR(pivot(spath("t"), spath("t/old")), EPERM);
}

static void test(void *arg) {
	(void)arg;
	mount_tmpfs(spath("t"));
	mount_tmpfs(spath("u"));
	CHECK_OK(mkdir(spath("t/old"), 0755));
	CHECK_OK(mkdir(spath("t/d"), 0755));
	make_file(spath("t/file"), 0644, NULL, 0);

	CHECK_ERR(pivot(spath("missing"), spath("t/old")), ENOENT);
	CHECK_ERR(pivot(spath("t"), spath("t/missing")), ENOENT);
	CHECK_ERR(pivot(spath("t/file"), spath("t/old")), ENOTDIR);
	CHECK_ERR(pivot(spath("t"), spath("t/file")), ENOTDIR);
	// new_root on the root's own mount.
	CHECK_ERR(pivot("/", "/"), EBUSY);
	CHECK_ERR(pivot("/", spath("t/old")), EBUSY);
	// Not a mount point.
	CHECK_ERR(pivot(spath("t/d"), spath("t/d")), EINVAL);
	// put_old not below new_root.
	CHECK_ERR(pivot(spath("t"), spath("u")), EINVAL);
	// put_old's mount is shared.
	CHECK_OK(mount(NULL, spath("t"), NULL, MS_SHARED, NULL));
	CHECK_ERR(pivot(spath("t"), spath("t/old")), EINVAL);
	CHECK_OK(mount(NULL, spath("t"), NULL, MS_PRIVATE, NULL));

	// A root that is not a mount point.
	fflush(NULL);
	pid_t pid = XFORK();
	if (pid == 0) {
		CHECK_OK(chroot(scratch()));
		CHECK_OK(chdir("/"));
		CHECK_ERR(pivot("/t", "/t/old"), EINVAL);
		_exit(0);
	}
	WAIT_EXIT(pid, 0);
	CHECK_OK(umount2(spath("u"), 0));
	CHECK_OK(umount2(spath("t"), 0));
}

int main(void) {
	if (geteuid() != 0)
		return 0;
	scratch();
	CHECK_OK(mkdir(spath("t"), 0755));
	CHECK_OK(mkdir(spath("u"), 0755));
	as_nobody(nobody, NULL);
	in_private_ns(test, NULL);
	return 0;
}
