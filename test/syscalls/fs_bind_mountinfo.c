// fs_bind_mountinfo: /proc/self/mountinfo and /proc/self/mounts describe
// a bind mount as the file system it shows: the type field is the source
// mount's file system type (tmpfs here, never "none"), the source field
// and st_dev are the source mount's, for a bind of a mount's root, of a
// subdirectory, of a file, and of a bind mount again. The fourth field
// (the root within the file system) is checked by fs_bind_mountinfo_root.
// Runs as root, in a private namespace of its own (mntns_check.h).
//
//go:build ignore

#include "mntns_check.h"
#include <sys/sysmacros.h>

#define CHECK_STR(got, want)                                                  \
	do {                                                                  \
		if (strcmp((got), (want)) != 0)                               \
			FAIL("%s = \"%s\", want \"%s\"", #got, (got), (want));  \
	} while (0)

// fields splits the mountinfo line of path into its fourth field (root),
// the device, and the type and source after the " - " separator.
static void fields(const char *path, char *root, char *dev, char *type, char *source) {
	char line[4096];
	if (!mountinfo_line(path, line, sizeof line))
		FAIL("no mountinfo line for %s", path);
	CHECK_EQ(sscanf(line, "%*d %*d %63s %1023s", dev, root), 2);
	const char *sep = strstr(line, " - ");
	CHECK(sep != NULL);
	CHECK_EQ(sscanf(sep, " - %63s %1023s", type, source), 2);
}

static void mounts_type(const char *path, char *type) {
	FILE *f = fopen("/proc/self/mounts", "r");
	CHECK(f != NULL);
	char line[4096];
	type[0] = 0;
	while (fgets(line, sizeof line, f)) {
		char src[1024], dst[1024], t[64];
		if (sscanf(line, "%1023s %1023s %63s", src, dst, t) == 3 && strcmp(dst, path) == 0)
			snprintf(type, 64, "%s", t);
	}
	fclose(f);
}

static void same_as_source(const char *bind, const char *src) {
	char root[1024], dev[64], type[64], source[1024];
	char sroot[1024], sdev[64], stype[64], ssource[1024];
	fields(bind, root, dev, type, source);
	fields(src, sroot, sdev, stype, ssource);
	CHECK_STR(type, "tmpfs");
	CHECK_STR(type, stype);
	CHECK_STR(source, ssource);
	CHECK_STR(dev, sdev);
	char mtype[64];
	mounts_type(bind, mtype);
	CHECK_STR(mtype, "tmpfs");
	struct stat a, b;
	CHECK_OK(stat(bind, &a));
	CHECK_OK(stat(src, &b));
	CHECK_EQ(a.st_dev, b.st_dev);
	char want[64];
	snprintf(want, sizeof want, "%u:%u", major(a.st_dev), minor(a.st_dev));
	CHECK_STR(dev, want);
}

static void test(void *arg) {
	(void)arg;
	mount_tmpfs(spath("a"));
	CHECK_OK(mkdir(spath("a/sub"), 0755));
	CHECK_OK(mkdir(spath("a/sub/deeper"), 0755));
	make_file(spath("a/file"), 0644, "f", 1);

	CHECK_OK(mount(spath("a"), spath("b"), NULL, MS_BIND, NULL));
	same_as_source(spath("b"), spath("a"));
	CHECK_OK(umount2(spath("b"), 0));

	CHECK_OK(mount(spath("a/sub"), spath("b"), NULL, MS_BIND, NULL));
	same_as_source(spath("b"), spath("a"));
	// A bind of the bind mount.
	CHECK_OK(mount(spath("b/deeper"), spath("c"), NULL, MS_BIND, NULL));
	same_as_source(spath("c"), spath("a"));
	CHECK_OK(umount2(spath("c"), 0));
	CHECK_OK(umount2(spath("b"), 0));

	CHECK_OK(mount(spath("a/file"), spath("f"), NULL, MS_BIND, NULL));
	same_as_source(spath("f"), spath("a"));
	CHECK_OK(umount2(spath("f"), 0));
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
