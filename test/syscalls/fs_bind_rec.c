// fs_bind_rec: mount(src, dst, NULL, MS_BIND|MS_REC, NULL) copies the
// mounts below src onto their places below dst (Linux's copy_tree), while
// a plain MS_BIND binds src's mount alone. A bind of a subdirectory takes
// only the mounts inside it; an unbindable submount is left out with what
// lies below it. The copies show the same files as the originals but are
// mounts of their own: a copy with submounts is EBUSY to unmount, and
// unmounting a copy leaves its original. Runs as root, in a private
// namespace of its own (mntns_check.h).
//
//go:build ignore

#include "mntns_check.h"

static void test(void *arg) {
	(void)arg;
	mount_tmpfs(spath("a"));
	CHECK_OK(mkdir(spath("a/s"), 0755));
	CHECK_OK(mkdir(spath("a/d"), 0755));
	CHECK_OK(mkdir(spath("a/d/e"), 0755));
	CHECK_OK(mkdir(spath("a/u"), 0755));
	mount_tmpfs(spath("a/s"));
	make_file(spath("a/s/g"), 0644, "g", 1);
	mount_tmpfs(spath("a/d/e"));
	CHECK_OK(mkdir(spath("a/d/e/deeper"), 0755));
	mount_tmpfs(spath("a/d/e/deeper"));
	make_file(spath("a/d/e/deeper/h"), 0644, "h", 1);

	// Plain MS_BIND: the top mount alone.
	CHECK_OK(mount(spath("a"), spath("b"), NULL, MS_BIND, NULL));
	CHECK(is_mounted(spath("b")));
	CHECK(lexists(spath("b/s")));
	CHECK(!lexists(spath("b/s/g")));
	CHECK(!is_mounted(spath("b/s")));
	CHECK(!is_mounted(spath("b/d/e")));
	CHECK_OK(umount2(spath("b"), 0));

	// MS_BIND|MS_REC: the whole tree.
	CHECK_OK(mount(spath("a"), spath("b"), NULL, MS_BIND | MS_REC, NULL));
	CHECK(is_mounted(spath("b/s")));
	CHECK(is_mounted(spath("b/d/e")));
	CHECK(is_mounted(spath("b/d/e/deeper")));
	CHECK(lexists(spath("b/s/g")));
	CHECK(lexists(spath("b/d/e/deeper/h")));
	CHECK(mount_id(spath("b/s")) != mount_id(spath("a/s")));
	// Same file systems: a file made through the copy shows in the
	// original.
	make_file(spath("b/s/new"), 0644, "n", 1);
	CHECK(lexists(spath("a/s/new")));
	// The copy is busy while its submounts are there; unmounting a copy
	// leaves the original alone.
	CHECK_ERR(umount2(spath("b"), 0), EBUSY);
	CHECK_OK(umount2(spath("b/s"), 0));
	CHECK(!lexists(spath("b/s/g")));
	CHECK(lexists(spath("a/s/g")));
	CHECK_OK(umount2(spath("b"), MNT_DETACH));
	CHECK(!is_mounted(spath("b")));
	CHECK(!is_mounted(spath("b/d/e")));
	CHECK(is_mounted(spath("a/d/e/deeper")));

	// A subdirectory: only the mounts inside it come along.
	CHECK_OK(mount(spath("a/d"), spath("c"), NULL, MS_BIND | MS_REC, NULL));
	CHECK(is_mounted(spath("c/e")));
	CHECK(is_mounted(spath("c/e/deeper")));
	CHECK(lexists(spath("c/e/deeper/h")));
	CHECK(!lexists(spath("c/s")));
	CHECK_OK(umount2(spath("c"), MNT_DETACH));

	// An unbindable submount, and the mounts below it, stay out.
	CHECK_OK(mount(NULL, spath("a/d/e"), NULL, MS_UNBINDABLE, NULL));
	CHECK_OK(mount(spath("a"), spath("b"), NULL, MS_BIND | MS_REC, NULL));
	CHECK(is_mounted(spath("b/s")));
	CHECK(!is_mounted(spath("b/d/e")));
	CHECK(!is_mounted(spath("b/d/e/deeper")));
	CHECK(lexists(spath("b/d/e")));
	CHECK(!lexists(spath("b/d/e/deeper")));
	CHECK_OK(umount2(spath("b"), MNT_DETACH));
	// Binding the unbindable mount itself is EINVAL, recursive or not.
	CHECK_ERR(mount(spath("a/d/e"), spath("c"), NULL, MS_BIND, NULL), EINVAL);
	CHECK_ERR(mount(spath("a/d/e"), spath("c"), NULL, MS_BIND | MS_REC, NULL), EINVAL);
}

int main(void) {
	if (geteuid() != 0)
		return 0;
	scratch();
	CHECK_OK(mkdir(spath("a"), 0755));
	CHECK_OK(mkdir(spath("b"), 0755));
	CHECK_OK(mkdir(spath("c"), 0755));
	in_private_ns(test, NULL);
	return 0;
}
