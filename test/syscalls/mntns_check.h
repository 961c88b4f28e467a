// mntns_check.h: helpers for the mount namespace tests (mntns_*,
// pivot_root_*, mount_move*). They need root; natively every change of
// the mount tree happens in a forked child that first enters a mount
// namespace of its own with every mount private, so nothing reaches the
// host's mounts, and mounts only inside scratch().
#ifndef COCOON_TEST_MNTNS_CHECK_H
#define COCOON_TEST_MNTNS_CHECK_H

#include "fs_check.h"
#include <sched.h>
#include <sys/mount.h>
#include <sys/syscall.h>

// in_private_ns runs fn(arg) in a forked child inside a private mount
// namespace of its own and fails unless the child exits 0.
static inline void in_private_ns(void (*fn)(void *), void *arg) {
	fflush(NULL);
	pid_t pid = XFORK();
	if (pid == 0) {
		alarm(10);
		CHECK_OK(unshare(CLONE_NEWNS));
		CHECK_OK(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL));
		fn(arg);
		fflush(NULL);
		_exit(0);
	}
	WAIT_EXIT(pid, 0);
}

// mountinfo_line copies into line (size bytes) the last line of
// /proc/<pid>/mountinfo (pid 0: self) whose mount point is path, and
// returns whether there is one. proc is where proc is mounted ("/proc").
static inline int mountinfo_line_in(const char *proc, pid_t pid, const char *path, char *line, size_t size) {
	char file[256];
	if (pid)
		snprintf(file, sizeof file, "%s/%d/mountinfo", proc, (int)pid);
	else
		snprintf(file, sizeof file, "%s/self/mountinfo", proc);
	FILE *f = fopen(file, "r");
	if (!f)
		FAIL("fopen(%s) (errno %d %s)", file, errno, errname(errno));
	char buf[4096];
	int found = 0;
	while (fgets(buf, sizeof buf, f)) {
		char target[2048];
		if (sscanf(buf, "%*d %*d %*s %*s %2047s", target) == 1 && strcmp(target, path) == 0) {
			snprintf(line, size, "%s", buf);
			found = 1;
		}
	}
	fclose(f);
	return found;
}

static inline int mountinfo_line(const char *path, char *line, size_t size) {
	return mountinfo_line_in("/proc", 0, path, line, size);
}

// is_mounted reports whether the caller's mount namespace has a mount at
// path.
static inline int is_mounted(const char *path) {
	char line[4096];
	return mountinfo_line(path, line, sizeof line);
}

// mount_id returns the mount ID (mountinfo's first field) of the mount at
// path, -1 if none.
static inline int mount_id(const char *path) {
	char line[4096];
	if (!mountinfo_line(path, line, sizeof line))
		return -1;
	return atoi(line);
}

// mnt_ns returns the inode number in /proc/<pid>/ns/mnt (pid 0: self).
static inline unsigned long mnt_ns(pid_t pid) {
	char path[64], link[64];
	if (pid)
		snprintf(path, sizeof path, "/proc/%d/ns/mnt", (int)pid);
	else
		snprintf(path, sizeof path, "/proc/self/ns/mnt");
	ssize_t n = readlink(path, link, sizeof link - 1);
	if (n < 0)
		FAIL("readlink(%s) (errno %d %s)", path, errno, errname(errno));
	link[n] = 0;
	unsigned long ino = 0;
	if (sscanf(link, "mnt:[%lu]", &ino) != 1)
		FAIL("readlink(%s) = %s", path, link);
	return ino;
}

// mount_tmpfs mounts a small tmpfs at path.
static inline void mount_tmpfs(const char *path) {
	if (mount("tmpfs", path, "tmpfs", 0, "size=1m") != 0)
		FAIL("mount tmpfs on %s (errno %d %s)", path, errno, errname(errno));
}

#endif
