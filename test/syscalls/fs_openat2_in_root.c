// fs_openat2_in_root: openat2 with RESOLVE_IN_ROOT treats the dirfd as the
// root for the whole resolution: ".." at the top stays there, absolute
// paths and absolute symlink targets are resolved inside it, so nothing
// outside can be reached; combined with RESOLVE_NO_XDEV, crossing into
// /proc from a dirfd on another file system is EXDEV.
//
//go:build ignore

#include "fs_check.h"
#include <linux/openat2.h>

static int oa2(int dfd, const char *path, uint64_t flags, uint64_t resolve) {
	struct open_how how = {.flags = flags, .resolve = resolve};
	return syscall(SYS_openat2, dfd, path, &how, sizeof how);
}

static void same_file(int fd, const char *path) {
	CHECK(fd >= 0);
	struct stat a, b;
	CHECK_OK(fstat(fd, &a));
	CHECK_OK(stat(path, &b));
	CHECK(a.st_ino == b.st_ino && a.st_dev == b.st_dev);
	close(fd);
}

int main(void) {
	scratch_cd();
	CHECK_OK(mkdir("jail", 0755));
	CHECK_OK(mkdir("jail/etc", 0755));
	make_file("jail/etc/passwd", 0644, "jailed", 6);
	make_file("jail/top", 0644, NULL, 0);
	make_file("secret", 0644, NULL, 0);
	CHECK_OK(symlink("/etc/passwd", "jail/abs"));
	CHECK_OK(symlink("../../secret", "jail/etc/up"));
	CHECK_OK(symlink("/", "jail/rootlink"));
	int jail = open("jail", O_PATH | O_DIRECTORY);
	CHECK(jail >= 0);

	same_file(oa2(jail, "/etc/passwd", O_RDONLY, RESOLVE_IN_ROOT), "jail/etc/passwd");
	same_file(oa2(jail, "abs", O_RDONLY, RESOLVE_IN_ROOT), "jail/etc/passwd");
	same_file(oa2(jail, "../../../top", O_RDONLY, RESOLVE_IN_ROOT), "jail/top");
	same_file(oa2(jail, "rootlink/top", O_RDONLY, RESOLVE_IN_ROOT), "jail/top");
	same_file(oa2(jail, "/", O_RDONLY | O_DIRECTORY, RESOLVE_IN_ROOT), "jail");
	same_file(oa2(jail, "/..", O_RDONLY | O_DIRECTORY, RESOLVE_IN_ROOT), "jail");
	// ../../secret from jail/etc stops at the jail root: no such file.
	CHECK_ERR(oa2(jail, "etc/up", O_RDONLY, RESOLVE_IN_ROOT), ENOENT);
	// Without RESOLVE_IN_ROOT the same link reaches the outside file.
	int esc = oa2(jail, "etc/up", O_RDONLY, 0);
	CHECK(esc >= 0);
	close(esc);

	// Creating through an absolute path lands inside the root.
	int fd = oa2(jail, "/etc/created", O_WRONLY | O_CREAT | O_EXCL, RESOLVE_IN_ROOT);
	CHECK(fd >= 0);
	close(fd);
	CHECK(lexists("jail/etc/created"));

	// IN_ROOT and BENEATH together are EINVAL.
	CHECK_ERR(oa2(jail, "top", O_RDONLY, RESOLVE_IN_ROOT | RESOLVE_BENEATH), EINVAL);
	// NO_XDEV: /proc is another mount.
	int rootfd = open("/", O_PATH | O_DIRECTORY);
	CHECK(rootfd >= 0);
	CHECK_ERR(oa2(rootfd, "proc/self", O_PATH, RESOLVE_NO_XDEV), EXDEV);
	close(rootfd);
	close(jail);
	return 0;
}
