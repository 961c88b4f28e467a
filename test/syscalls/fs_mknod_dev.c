// fs_mknod_dev: root (CAP_MKNOD) can create character and block device
// nodes whose st_rdev carries the given major/minor; an unprivileged
// process gets EPERM for device nodes but may still create FIFOs and
// regular files with mknod. The nodes are not opened (the scratch may be
// mounted nodev). Needs root.
// sandbox: pending device nodes are refused by policy, even for root
//
//go:build ignore

#include "fs_check.h"
#include <sys/sysmacros.h>

static void child(void *arg) {
	(void)arg;
	CHECK_ERR(mknod(spath("w/c"), S_IFCHR | 0600, makedev(1, 3)), EPERM);
	CHECK_ERR(mknod(spath("w/b"), S_IFBLK | 0600, makedev(7, 0)), EPERM);
	CHECK_OK(mknod(spath("w/p"), S_IFIFO | 0600, 0));
	CHECK_OK(mknod(spath("w/r"), S_IFREG | 0600, 0));
	struct stat st;
	CHECK_OK(lstat(spath("w/r"), &st));
	CHECK_EQ(st.st_uid, NOBODY);
}

int main(void) {
	if (geteuid() != 0)
		return 0;
	scratch();
	CHECK_OK(mknod(spath("null"), S_IFCHR | 0666, makedev(1, 3)));
	struct stat st;
	CHECK_OK(lstat(spath("null"), &st));
	CHECK(S_ISCHR(st.st_mode));
	CHECK_EQ(major(st.st_rdev), 1);
	CHECK_EQ(minor(st.st_rdev), 3);
	CHECK_EQ(st.st_size, 0);
	CHECK_OK(mknod(spath("blk"), S_IFBLK | 0600, makedev(259, 70000)));
	CHECK_OK(lstat(spath("blk"), &st));
	CHECK(S_ISBLK(st.st_mode));
	CHECK_EQ(major(st.st_rdev), 259);
	CHECK_EQ(minor(st.st_rdev), 70000);
	// Regular files report st_rdev 0.
	make_file(spath("f"), 0644, NULL, 0);
	CHECK_OK(lstat(spath("f"), &st));
	CHECK_EQ(st.st_rdev, 0);
	// Device nodes can be renamed, linked and removed like files.
	CHECK_OK(link(spath("null"), spath("null2")));
	CHECK_OK(lstat(spath("null2"), &st));
	CHECK_EQ(st.st_nlink, 2);
	CHECK_EQ(minor(st.st_rdev), 3);
	CHECK_OK(unlink(spath("null2")));
	CHECK_ERR(mknod(spath("null"), S_IFCHR | 0666, makedev(1, 3)), EEXIST);

	CHECK_OK(mkdir(spath("w"), 0777));
	CHECK_OK(chmod(spath("w"), 0777));
	as_nobody(child, NULL);
	return 0;
}
