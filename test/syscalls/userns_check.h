// userns_check.h: helpers for the user namespace tests: writing
// /proc/PID/{uid_map,gid_map,setgroups}, reading capabilities, and
// comparing ns/user links.
#ifndef COCOON_TEST_USERNS_CHECK_H
#define COCOON_TEST_USERNS_CHECK_H

#include "task_check.h"
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <sys/fsuid.h>

// write_file writes s to path in one write; returns 0, or -1 with errno.
static inline int write_file(const char *path, const char *s) {
	int fd = open(path, O_WRONLY);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, s, strlen(s));
	int e = errno;
	close(fd);
	if (n < 0) {
		errno = e;
		return -1;
	}
	if ((size_t)n != strlen(s)) {
		errno = EIO;
		return -1;
	}
	return 0;
}

// proc_write writes s to /proc/PID/NAME (pid 0: self).
static inline int proc_write(pid_t pid, const char *name, const char *s) {
	char path[64];
	if (pid)
		snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, name);
	else
		snprintf(path, sizeof path, "/proc/self/%s", name);
	return write_file(path, s);
}

// proc_read reads /proc/PID/NAME (pid 0: self) into buf.
static inline void proc_read(pid_t pid, const char *name, char *buf, size_t size) {
	char path[64];
	if (pid)
		snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, name);
	else
		snprintf(path, sizeof path, "/proc/self/%s", name);
	if (read_text(path, buf, size) < 0)
		FAIL("read %s (errno %d %s)", path, errno, errname(errno));
}

// map_fmt formats one map line as Linux shows it.
static inline const char *map_fmt(unsigned first, unsigned lower, unsigned count) {
	static char buf[64];
	snprintf(buf, sizeof buf, "%10u %10u %10u\n", first, lower, count);
	return buf;
}

// effective_caps returns the calling thread's effective capability set.
static inline unsigned long long effective_caps(void) {
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2];
	if (syscall(SYS_capget, &h, d) != 0)
		FAIL("capget (errno %d %s)", errno, errname(errno));
	return d[0].effective | (unsigned long long)d[1].effective << 32;
}

// has_cap reports whether cap is effective.
static inline int has_cap(int cap) { return (effective_caps() >> cap) & 1; }

// ns_link returns the target of /proc/PID/ns/user (pid 0: self).
static inline const char *ns_link(pid_t pid, char *buf, size_t size) {
	char path[64];
	if (pid)
		snprintf(path, sizeof path, "/proc/%d/ns/user", (int)pid);
	else
		snprintf(path, sizeof path, "/proc/self/ns/user");
	ssize_t n = readlink(path, buf, size - 1);
	if (n < 0)
		FAIL("readlink %s (errno %d %s)", path, errno, errname(errno));
	buf[n] = 0;
	return buf;
}

// sync_wait reads one byte from fd (the other side's go-ahead).
static inline void sync_wait(int fd) {
	char c;
	ssize_t n;
	do
		n = read(fd, &c, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1)
		FAIL("sync read (got %zd errno %d %s)", n, errno, errname(errno));
}

// sync_post writes one byte to fd.
static inline void sync_post(int fd) {
	if (write(fd, "x", 1) != 1)
		FAIL("sync write (errno %d %s)", errno, errname(errno));
}

#endif
