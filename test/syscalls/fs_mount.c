// fs_mount: mount(2) and umount2(2) of the kinds of file system a sandbox
// owns, in a private mount namespace of the program's own (natively too,
// so nothing reaches the host's mounts). A tmpfs with size= and mode=
// hides the directory's files, has TMPFS_MAGIC and fails writes past its
// size with ENOSPC; an unknown type is ENODEV and a file target ENOTDIR;
// a read-only remount refuses creation with EROFS until remounted
// read-write; umount2 shows the files beneath again, and a second one is
// EINVAL; a bind mount of a directory shows and shares its files until a
// lazy umount. The source argument names each mount in /proc/self/mounts
// and in mountinfo, escaped as Linux's mangle does ("none" when NULL), for
// tmpfs, mqueue, proc, sysfs and devpts; a source longer than PATH_MAX
// is EINVAL.
//go:build ignore

#include "check.h"
#include "fs_check.h"
#include <sched.h>
#include <sys/mount.h>
#include <sys/statfs.h>

// sources reads the source fields of the mount at path: /proc/self/mounts'
// first field into src and mountinfo's field after the type into info.
static void sources(const char *path, char *src, char *info) {
	char line[4096], dst[1024];
	src[0] = info[0] = 0;
	FILE *f = fopen("/proc/self/mounts", "r");
	CHECK(f != NULL);
	int found = 0;
	while (fgets(line, sizeof line, f)) {
		// The source may be empty: the line then starts with a space.
		char *sp = strchr(line, ' ');
		if (sp && sscanf(sp, " %1023s", dst) == 1 && strcmp(dst, path) == 0) {
			snprintf(src, 1024, "%.*s", (int)(sp - line), line);
			found++;
		}
	}
	fclose(f);
	CHECK_EQ(found, 1);
	f = fopen("/proc/self/mountinfo", "r");
	CHECK(f != NULL);
	found = 0;
	while (fgets(line, sizeof line, f)) {
		char *sep = strstr(line, " - ");
		if (!sep || sscanf(line, "%*d %*d %*s %*s %1023s", dst) != 1 || strcmp(dst, path) != 0)
			continue;
		// " - TYPE SOURCE OPTIONS": the source is between the next
		// two spaces.
		char *type = sep + 3, *s = strchr(type, ' ');
		CHECK(s != NULL);
		char *e = strchr(s + 1, ' ');
		CHECK(e != NULL);
		snprintf(info, 1024, "%.*s", (int)(e - s - 1), s + 1);
		found++;
	}
	fclose(f);
	CHECK_EQ(found, 1);
}

// check_source mounts a file system of type with source src at a fresh
// directory and checks both files show want as its source.
static void check_source(const char *name, const char *src, const char *type, const char *want) {
	char dir[4096], got[1024], info[1024];
	snprintf(dir, sizeof dir, "%s", spath(name));
	CHECK_OK(mkdir(dir, 0755));
	if (mount(src, dir, type, 0, NULL) != 0)
		FAIL("mount(%s, %s) (errno %d %s)", type, dir, errno, errname(errno));
	sources(dir, got, info);
	if (strcmp(got, want) != 0 || strcmp(info, want) != 0)
		FAIL("%s mount's source: mounts \"%s\", mountinfo \"%s\", want \"%s\"", type, got, info, want);
	CHECK_OK(umount2(dir, 0));
}

static int mounted(const char *path) {
	FILE *f = fopen("/proc/self/mounts", "r");
	CHECK(f != NULL);
	char line[4096];
	int found = 0;
	while (fgets(line, sizeof line, f)) {
		char src[1024], dst[1024];
		if (sscanf(line, "%1023s %1023s", src, dst) == 2 && strcmp(dst, path) == 0)
			found = 1;
	}
	fclose(f);
	return found;
}

int main(void) {
	if (geteuid() != 0)
		return 0;
	CHECK_OK(unshare(CLONE_NEWNS));
	CHECK_OK(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL));
	const char *dir = scratch();
	CHECK_OK(chdir(dir));
	CHECK_OK(mkdir("m", 0755));
	make_file("m/under", 0644, "x", 1);

	CHECK_OK(mount("tmpfs", spath("m"), "tmpfs", 0, "size=64k,mode=0710"));
	CHECK(mounted(spath("m")));
	CHECK(!lexists("m/under"));
	struct stat st;
	CHECK_OK(stat("m", &st));
	CHECK_EQ(st.st_mode & 07777, 0710);
	struct statfs sfs;
	CHECK_OK(statfs("m", &sfs));
	CHECK_EQ(sfs.f_type, 0x01021994); // TMPFS_MAGIC
	int fd = open("m/big", O_WRONLY | O_CREAT, 0644);
	CHECK(fd >= 0);
	char buf[4096];
	memset(buf, 'a', sizeof buf);
	long total = 0;
	for (int i = 0; i < 64; i++) {
		ssize_t n = write(fd, buf, sizeof buf);
		if (n < 0) {
			CHECK_EQ(errno, ENOSPC);
			break;
		}
		total += n;
	}
	CHECK(total <= 64 * 1024 && total > 0);
	close(fd);
	CHECK_OK(unlink("m/big"));
	CHECK_ERR(mount("x", spath("m"), "no-such-fs", 0, NULL), ENODEV);
	make_file("m/f", 0644, "f", 1);
	CHECK_ERR(mount("tmpfs", spath("m/f"), "tmpfs", 0, NULL), ENOTDIR);

	// Read-only remount.
	CHECK_OK(mount(NULL, spath("m"), NULL, MS_REMOUNT | MS_RDONLY, NULL));
	CHECK_ERR(open("m/new", O_WRONLY | O_CREAT, 0644), EROFS);
	CHECK_OK(mount(NULL, spath("m"), NULL, MS_REMOUNT, NULL));
	make_file("m/new", 0644, "y", 1);

	CHECK_OK(umount2(spath("m"), 0));
	CHECK(!mounted(spath("m")));
	CHECK(lexists("m/under"));
	CHECK(!lexists("m/new"));
	CHECK_ERR(umount2(spath("m"), 0), EINVAL);

	// A bind mount of a directory shows the same files.
	CHECK_OK(mkdir("b", 0755));
	CHECK_OK(mount(spath("m"), spath("b"), NULL, MS_BIND, NULL));
	CHECK(lexists("b/under"));
	make_file("b/both", 0644, "z", 1);
	CHECK(lexists("m/both"));
	CHECK_OK(umount2(spath("b"), MNT_DETACH));
	CHECK(!lexists("b/under"));

	// The source names the mount, whatever the file system.
	check_source("s1", "mysrc", "tmpfs", "mysrc");
	check_source("s2", NULL, "tmpfs", "none");
	check_source("s3", "my src\\x", "tmpfs", "my\\040src\\134x");
	check_source("s4", "mymq", "mqueue", "mymq");
	check_source("s5", "myproc", "proc", "myproc");
	check_source("s6", "mysys", "sysfs", "mysys");
	check_source("s7", "mypts", "devpts", "mypts");
	static char big[8192];
	memset(big, 's', sizeof big - 1);
	CHECK_OK(mkdir("s8", 0755));
	CHECK_ERR(mount(big, spath("s8"), "tmpfs", 0, NULL), EINVAL);
	CHECK(!mounted(spath("s8")));
	return 0;
}
