// A read-only file system stays read-only through a writable mount: after
// a tmpfs is remounted read-only as a whole (MS_REMOUNT without MS_BIND),
// a bind mount of it remounted writable (MS_REMOUNT|MS_BIND, as
// `mount -o remount,bind,rw` does) still refuses every change with
// EROFS: writable opens, O_RDONLY|O_TRUNC, creation, truncate, chmod,
// access(W_OK). A read-only bind mount of a writable file system refuses
// O_RDONLY|O_TRUNC too. Making the file system writable again makes the
// bind mount writable. This is how a volume the pod mounts read-only
// must behave in the sandbox after a remount from inside it.
//go:build ignore

#include "check.h"
#include "fs_check.h"
#include <sched.h>
#include <sys/mount.h>

static void refuses_changes(const char *dir) {
	char f[4096], n[4096];
	snprintf(f, sizeof f, "%s/f", dir);
	snprintf(n, sizeof n, "%s/new", dir);
	CHECK_ERR(open(f, O_WRONLY), EROFS);
	CHECK_ERR(open(f, O_RDWR), EROFS);
	CHECK_ERR(open(f, O_RDONLY | O_TRUNC), EROFS);
	CHECK_ERR(open(n, O_WRONLY | O_CREAT, 0644), EROFS);
	CHECK_ERR(mkdir(n, 0755), EROFS);
	CHECK_ERR(truncate(f, 0), EROFS);
	CHECK_ERR(chmod(f, 0600), EROFS);
	CHECK_ERR(access(f, W_OK), EROFS);
	CHECK_ERR(unlink(f), EROFS);
	int fd = open(f, O_RDONLY);
	CHECK(fd >= 0);
	char buf[8];
	CHECK_EQ(read(fd, buf, sizeof buf), 5);
	CHECK_MEM(buf, "hello", 5);
	close(fd);
}

int main(void) {
	if (unshare(CLONE_NEWNS) != 0)
		CHECK_EQ(errno, EINVAL);
	CHECK_OK(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL));
	scratch_cd();
	CHECK_OK(mkdir("t", 0755));
	CHECK_OK(mkdir("b", 0755));
	CHECK_OK(mkdir("r", 0755));
	CHECK_OK(mount("tmpfs", spath("t"), "tmpfs", 0, "size=64k"));
	make_file(spath("t/f"), 0644, "hello", 5);

	// A read-only bind mount of a writable file system.
	CHECK_OK(mount(spath("t"), spath("r"), NULL, MS_BIND, NULL));
	CHECK_OK(mount(NULL, spath("r"), NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL));
	refuses_changes(spath("r"));
	CHECK_OK(umount2(spath("r"), 0));

	// The file system read-only, the bind mount of it writable.
	CHECK_OK(mount(NULL, spath("t"), NULL, MS_REMOUNT | MS_RDONLY, NULL));
	CHECK_OK(mount(spath("t"), spath("b"), NULL, MS_BIND, NULL));
	CHECK_OK(mount(NULL, spath("b"), NULL, MS_REMOUNT | MS_BIND, NULL));
	refuses_changes(spath("b"));
	refuses_changes(spath("t"));

	// The file system writable again: so is the writable bind mount.
	CHECK_OK(mount(NULL, spath("t"), NULL, MS_REMOUNT, NULL));
	int fd = open(spath("b/f"), O_WRONLY | O_TRUNC);
	CHECK(fd >= 0);
	CHECK_EQ(write(fd, "x", 1), 1);
	close(fd);
	CHECK_OK(umount2(spath("b"), 0));
	CHECK_OK(umount2(spath("t"), 0));
	return 0;
}
