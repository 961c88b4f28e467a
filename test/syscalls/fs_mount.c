// mount(2) and umount2(2) of the kinds a sandbox owns: a tmpfs with a size
// limit and mode, its line in /proc/self/mounts, a read-only remount, a
// bind mount of a directory, and unmounting (the files beneath show
// again). Natively the program first enters a private mount namespace so
// nothing leaks to the host; the sandbox has one tree, where unshare of
// the mount namespace is refused (EINVAL) and mounts stay in the sandbox.
//go:build ignore

#include "check.h"
#include "fs_check.h"
#include <sched.h>
#include <sys/mount.h>
#include <sys/statfs.h>

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
	if (unshare(CLONE_NEWNS) != 0)
		CHECK_EQ(errno, EINVAL);
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
	return 0;
}
