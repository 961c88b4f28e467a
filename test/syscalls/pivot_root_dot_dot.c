// pivot_root_dot_dot: the idiom runc and other container tools use to
// enter a root file system: bind-mount the root directory onto itself,
// chdir into it, pivot_root(".", ".") (the old root is then mounted over
// the new one) and umount2(".", MNT_DETACH) (which takes the old root
// away). Afterwards "/" is the directory, ".." stays there, the old tree
// is unreachable by path, and a descriptor opened before still reaches
// it. Runs as root, in a private namespace of its own (mntns_check.h).
//
//go:build ignore

#include "mntns_check.h"

static void test(void *arg) {
	(void)arg;
	int outer = open(scratch(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK(outer >= 0);
	CHECK_OK(mount(spath("rootfs"), spath("rootfs"), NULL, MS_BIND | MS_REC, NULL));
	CHECK_OK(chdir(spath("rootfs")));
	CHECK_OK(syscall(SYS_pivot_root, ".", "."));
	CHECK_OK(umount2(".", MNT_DETACH));
	CHECK_OK(chdir("/"));

	char cwd[4096];
	CHECK(getcwd(cwd, sizeof cwd) != NULL);
	CHECK_EQ(strcmp(cwd, "/"), 0);
	CHECK(lexists("/etc/hostname"));
	CHECK(lexists("/bin"));
	struct stat root, up, st;
	CHECK_OK(stat("/", &root));
	CHECK_OK(stat("/../..", &up));
	CHECK(root.st_ino == up.st_ino && root.st_dev == up.st_dev);
	// The old tree is gone by path ...
	CHECK_ERR(stat(spath("rootfs"), &st), ENOENT);
	CHECK_ERR(stat("/proc/self", &st), ENOENT);
	// ... but not through a descriptor from before.
	CHECK_OK(fstatat(outer, "outside", &st, 0));
	CHECK_OK(fstatat(outer, "rootfs/etc/hostname", &st, 0));
	// Writes land in the directory.
	make_file("/made", 0644, "m", 1);
	CHECK_OK(fstatat(outer, "rootfs/made", &st, 0));
	close(outer);
}

int main(void) {
	if (geteuid() != 0)
		return 0;
	scratch();
	CHECK_OK(mkdir(spath("rootfs"), 0755));
	CHECK_OK(mkdir(spath("rootfs/etc"), 0755));
	CHECK_OK(mkdir(spath("rootfs/bin"), 0755));
	make_file(spath("rootfs/etc/hostname"), 0644, "box\n", 4);
	make_file(spath("outside"), 0644, NULL, 0);
	in_private_ns(test, NULL);
	return 0;
}
