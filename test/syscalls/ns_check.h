// ns_check.h: helpers shared by the namespace tests (ns_*, setns_*,
// cgroup_namespace, time_namespace): capabilities, /proc/<pid>/ns files,
// a process that holds new namespaces while the test looks at them, and
// lo's flags.
#ifndef COCOON_TEST_NS_CHECK_H
#define COCOON_TEST_NS_CHECK_H

#include "task_check.h"
#include <linux/capability.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "net_sysctl_check.h" // lo_up
#include "netlink_check.h"

// has_cap reports whether the caller has capability cap in its effective
// set.
static inline int has_cap(int cap) {
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2];
	CHECK_OK(syscall(SYS_capget, &h, d));
	return (d[cap / 32].effective >> (cap % 32)) & 1;
}

// set_cap raises (on) or drops capability cap in the effective set.
static inline void set_cap(int cap, int on) {
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2];
	CHECK_OK(syscall(SYS_capget, &h, d));
	if (on)
		d[cap / 32].effective |= 1u << (cap % 32);
	else
		d[cap / 32].effective &= ~(1u << (cap % 32));
	CHECK_OK(syscall(SYS_capset, &h, d));
}

// run_in_child runs fn in a fork child with an alarm of secs seconds, and
// checks that it exits 0.
static inline void run_in_child(void (*fn)(void), unsigned secs) {
	fflush(NULL);
	pid_t pid = XFORK();
	if (pid == 0) {
		alarm(secs);
		fn();
		_exit(0);
	}
	WAIT_EXIT(pid, 0);
}

// ns_link_ino checks that the namespace file at path is a link named
// "type:[inode]" after its own inode, and returns that inode.
static inline ino_t ns_link_ino(const char *path, const char *type) {
	char link[64], want[64];
	struct stat st;
	CHECK_OK(stat(path, &st));
	ssize_t n = readlink(path, link, sizeof link - 1);
	CHECK(n > 0);
	link[n] = 0;
	snprintf(want, sizeof want, "%s:[%lu]", type, (unsigned long)st.st_ino);
	if (strcmp(link, want) != 0)
		FAIL("%s links to %s, want %s", path, link, want);
	return st.st_ino;
}

// proc_ns_ino returns the inode of /proc/<who>/ns/<kind> (who: a PID or
// "self"; kind: "net", "pid_for_children"...) after checking its link's
// name.
static inline ino_t proc_ns_ino(const char *who, const char *kind) {
	char path[64], type[32];
	snprintf(path, sizeof path, "/proc/%s/ns/%s", who, kind);
	snprintf(type, sizeof type, "%.*s", (int)strcspn(kind, "_"), kind);
	return ns_link_ino(path, type);
}

// ns_open opens process pid's namespace file of kind after checking its
// link's name.
static inline int ns_open(pid_t pid, const char *kind) {
	char who[16], path[64];
	snprintf(who, sizeof who, "%d", (int)pid);
	proc_ns_ino(who, kind);
	snprintf(path, sizeof path, "/proc/%d/ns/%s", (int)pid, kind);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 0);
	return fd;
}

// fd_ino returns the inode of the file fd is open on.
static inline ino_t fd_ino(int fd) {
	struct stat st;
	CHECK_OK(fstat(fd, &st));
	return st.st_ino;
}

// self_ino returns the inode of the caller's namespace file of kind.
static inline ino_t self_ino(const char *kind) { return proc_ns_ino("self", kind); }

// ns_holder is a process that unshared namespaces and keeps them alive
// until ns_release, while the test opens or binds its /proc/<pid>/ns
// files. Processes forked meanwhile inherit the release descriptor: they
// must have exited before ns_release.
struct ns_holder {
	pid_t pid;
	int release; // closing it ends the holder
};

// ns_hold forks a holder that unshares flags, runs fill (NULL: nothing)
// in the new namespaces, and waits; fill's result reaches the caller in
// *value (value may be NULL). fill may start processes that read
// release_fd, which reaches end of file at ns_release; the holder reaps
// them (they must exit 0) before it exits.
static inline struct ns_holder ns_hold(int flags, int (*fill)(int release_fd), int *value) {
	int ready[2], done[2];
	CHECK_OK(pipe(ready));
	CHECK_OK(pipe(done));
	fflush(NULL);
	pid_t pid = XFORK();
	if (pid == 0) {
		alarm(10);
		close(ready[0]);
		close(done[1]);
		CHECK_OK(unshare(flags));
		int v = fill ? fill(done[0]) : 0;
		CHECK_EQ(write(ready[1], &v, sizeof v), (ssize_t)sizeof v);
		char c;
		CHECK_EQ(read(done[0], &c, 1), 0);
		int ws;
		while (wait(&ws) > 0)
			if (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0)
				FAIL("a holder's child: %s, want exit 0", wstatus_str(ws));
		_exit(0);
	}
	close(ready[1]);
	close(done[0]);
	int v;
	CHECK_EQ(read(ready[0], &v, sizeof v), (ssize_t)sizeof v);
	close(ready[0]);
	if (value)
		*value = v;
	return (struct ns_holder){pid, done[1]};
}

// start_pid_init is an ns_hold fill for CLONE_NEWPID: it starts the new
// PID namespace's init, which lives until the holder is released, and
// returns its PID (in the caller's namespace).
static inline int start_pid_init(int release_fd) {
	fflush(NULL);
	pid_t init = XFORK();
	if (init == 0) {
		char c;
		CHECK_EQ(read(release_fd, &c, 1), 0);
		_exit(0);
	}
	return init;
}

// ns_release ends the holder (and what it started) and reaps it.
static inline void ns_release(struct ns_holder h) {
	CHECK_OK(close(h.release));
	WAIT_EXIT(h.pid, 0);
}

// lo_flags returns lo's interface flags (SIOCGIFFLAGS).
static inline short lo_flags(void) {
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	CHECK(s >= 0);
	struct ifreq ifr = {0};
	strcpy(ifr.ifr_name, "lo");
	CHECK_OK(ioctl(s, SIOCGIFFLAGS, &ifr));
	close(s);
	return ifr.ifr_flags;
}

// set_lo_flags sets lo's interface flags (SIOCSIFFLAGS, `ifconfig lo`).
static inline void set_lo_flags(short flags) {
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	CHECK(s >= 0);
	struct ifreq ifr = {0};
	strcpy(ifr.ifr_name, "lo");
	ifr.ifr_flags = flags;
	CHECK_OK(ioctl(s, SIOCSIFFLAGS, &ifr));
	close(s);
}

// set_lo_up takes lo up or down by ioctl.
static inline void set_lo_up(int up) {
	short f = lo_flags();
	set_lo_flags(up ? f | IFF_UP : f & ~IFF_UP);
}

#endif
