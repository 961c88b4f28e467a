// mount_move: mount(src, target, NULL, MS_MOVE, NULL) moves the mount at
// src, with the mounts below it, to target: the files show at target and
// src shows what lay beneath; the mount table follows. EINVAL when src is
// not a mount point or when a directory mount would go onto a file; ELOOP
// when target lies inside the moved mount; ENOENT for a missing path; EPERM
// without CAP_SYS_ADMIN. Runs as root, in a private namespace of its own
// (mntns_check.h).
//
//go:build ignore

#include "mntns_check.h"

static void nobody(void *arg) {
	(void)arg;
	CHECK_ERR(mount(spath("a"), spath("b"), NULL, MS_MOVE, NULL), EPERM);
}

static void test(void *arg) {
	(void)arg;
	mount_tmpfs(spath("a"));
	make_file(spath("a/f"), 0644, "f", 1);
	CHECK_OK(mkdir(spath("a/sub"), 0755));
	CHECK_OK(mkdir(spath("a/d"), 0755));
	mount_tmpfs(spath("a/sub"));
	make_file(spath("a/sub/g"), 0644, "g", 1);
	int id = mount_id(spath("a"));
	CHECK(id > 0);

	CHECK_OK(mount(spath("a"), spath("b"), NULL, MS_MOVE, NULL));
	CHECK(lexists(spath("b/f")));
	CHECK(lexists(spath("b/sub/g")));
	CHECK(lexists(spath("a/under_a")));
	CHECK(!lexists(spath("a/f")));
	CHECK(!is_mounted(spath("a")));
	CHECK(!is_mounted(spath("a/sub")));
	CHECK_EQ(mount_id(spath("b")), id); // the same mount, moved
	CHECK(is_mounted(spath("b/sub")));

	// Errors.
	CHECK_ERR(mount(spath("a"), spath("c"), NULL, MS_MOVE, NULL), EINVAL);
	CHECK_ERR(mount(spath("b/sub"), spath("file"), NULL, MS_MOVE, NULL), EINVAL);
	CHECK_ERR(mount(spath("b"), spath("b/sub"), NULL, MS_MOVE, NULL), ELOOP);
	CHECK_ERR(mount(spath("b"), spath("b/d"), NULL, MS_MOVE, NULL), ELOOP);
	CHECK_ERR(mount(spath("missing"), spath("c"), NULL, MS_MOVE, NULL), ENOENT);
	CHECK_ERR(mount(spath("b"), spath("missing"), NULL, MS_MOVE, NULL), ENOENT);

	// A submount moves out of its parent; the parent then unmounts
	// alone.
	CHECK_OK(mount(spath("b/sub"), spath("c"), NULL, MS_MOVE, NULL));
	CHECK(lexists(spath("c/g")));
	CHECK(!is_mounted(spath("b/sub")));
	CHECK_OK(umount2(spath("b"), 0));
	CHECK(lexists(spath("c/g")));
	CHECK_OK(umount2(spath("c"), 0));
	CHECK(!lexists(spath("c/g")));
}

int main(void) {
	if (geteuid() != 0)
		return 0;
	scratch();
	CHECK_OK(mkdir(spath("a"), 0755));
	make_file(spath("a/under_a"), 0644, NULL, 0);
	CHECK_OK(mkdir(spath("b"), 0755));
	CHECK_OK(mkdir(spath("c"), 0755));
	make_file(spath("file"), 0644, NULL, 0);
	as_nobody(nobody, NULL);
	in_private_ns(test, NULL);
	return 0;
}
