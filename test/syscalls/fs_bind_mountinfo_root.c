// fs_bind_mountinfo_root: the fourth field of /proc/self/mountinfo is the
// root of the mount within its file system: "/" for a mount of a whole
// file system and for a bind of its root, the bound directory's path for
// a bind of a subdirectory (also through another bind mount, whose own
// root the path starts from), and the file's path for a bind of a file.
// Runs as root, in a private namespace of its own (mntns_check.h).
//
//go:build ignore

#include "mntns_check.h"

static void root_is(const char *path, const char *want) {
	char line[4096], root[1024];
	if (!mountinfo_line(path, line, sizeof line))
		FAIL("no mountinfo line for %s", path);
	CHECK_EQ(sscanf(line, "%*d %*d %*s %1023s", root), 1);
	if (strcmp(root, want) != 0)
		FAIL("root of %s = %s, want %s", path, root, want);
}

static void test(void *arg) {
	(void)arg;
	mount_tmpfs(spath("a"));
	CHECK_OK(mkdir(spath("a/sub"), 0755));
	CHECK_OK(mkdir(spath("a/sub/deeper"), 0755));
	make_file(spath("a/file"), 0644, "f", 1);
	root_is(spath("a"), "/");

	CHECK_OK(mount(spath("a"), spath("b"), NULL, MS_BIND, NULL));
	root_is(spath("b"), "/");
	CHECK_OK(umount2(spath("b"), 0));

	CHECK_OK(mount(spath("a/sub"), spath("b"), NULL, MS_BIND, NULL));
	root_is(spath("b"), "/sub");
	CHECK_OK(mount(spath("b/deeper"), spath("c"), NULL, MS_BIND, NULL));
	root_is(spath("c"), "/sub/deeper");
	CHECK_OK(umount2(spath("c"), 0));
	CHECK_OK(umount2(spath("b"), 0));

	CHECK_OK(mount(spath("a/file"), spath("f"), NULL, MS_BIND, NULL));
	root_is(spath("f"), "/file");
	CHECK_OK(umount2(spath("f"), 0));

	// A recursive bind's copies keep their own roots.
	CHECK_OK(mount(spath("a/sub"), spath("a/sub/deeper"), NULL, MS_BIND, NULL));
	CHECK_OK(mount(spath("a"), spath("b"), NULL, MS_BIND | MS_REC, NULL));
	root_is(spath("b"), "/");
	root_is(spath("b/sub/deeper"), "/sub");
	CHECK_OK(umount2(spath("b"), MNT_DETACH));
}

int main(void) {
	if (geteuid() != 0)
		return 0;
	scratch();
	CHECK_OK(mkdir(spath("a"), 0755));
	CHECK_OK(mkdir(spath("b"), 0755));
	CHECK_OK(mkdir(spath("c"), 0755));
	make_file(spath("f"), 0644, NULL, 0);
	in_private_ns(test, NULL);
	return 0;
}
