// fs_check.h: helpers for the file system tests (fs_*.c), which need a
// writable scratch directory.
//
// scratch() creates, once per process, a fresh directory
// $TMPDIR/cocoon-fs-XXXXXX (TMPDIR defaults to /tmp), mode 0755 so that
// unprivileged children can search it, and registers an atexit handler that
// removes it recursively. Only the process that created it removes it:
// forked children that exit() (a failing CHECK does) leave it alone. A
// program that writes files uses nothing outside this directory.
//
// as_nobody(fn, arg) runs fn in a forked child with all credentials dropped
// to 65534 (nobody/nogroup, no supplementary groups) and fails unless the
// child exits 0; permission tests use it while the program runs as root.
#ifndef COCOON_TEST_FS_CHECK_H
#define COCOON_TEST_FS_CHECK_H

#include "task_check.h"
#include <dirent.h>
#include <ftw.h>
#include <grp.h>
#include <poll.h>
#include <sys/uio.h>

#define NOBODY 65534

static char scratch_dir_[4096];
static pid_t scratch_owner_;

static inline int scratch_unlock_(const char *p, const struct stat *st, int flag, struct FTW *f) {
	(void)f;
	if (flag == FTW_D || flag == FTW_DNR)
		chmod(p, (st->st_mode & 07777) | 0700);
	return 0;
}

static inline int scratch_rm_(const char *p, const struct stat *st, int flag, struct FTW *f) {
	(void)st, (void)flag, (void)f;
	remove(p);
	return 0;
}

static inline void scratch_cleanup_(void) {
	if (scratch_dir_[0] == 0 || getpid() != scratch_owner_)
		return;
	// Unreadable or unsearchable directories (permission tests) first get
	// u+rwx so that the depth-first pass can empty them.
	nftw(scratch_dir_, scratch_unlock_, 16, FTW_PHYS);
	nftw(scratch_dir_, scratch_rm_, 16, FTW_DEPTH | FTW_PHYS);
}

// scratch returns the absolute path of this process's scratch directory,
// creating it on the first call.
static inline const char *scratch(void) {
	if (scratch_dir_[0])
		return scratch_dir_;
	const char *tmp = getenv("TMPDIR");
	if (!tmp || !*tmp)
		tmp = "/tmp";
	char buf[sizeof scratch_dir_];
	snprintf(buf, sizeof buf, "%s/cocoon-fs-XXXXXX", tmp);
	if (!mkdtemp(buf))
		FAIL("mkdtemp(%s) (errno %d %s)", buf, errno, errname(errno));
	if (!realpath(buf, scratch_dir_))
		FAIL("realpath(%s) (errno %d %s)", buf, errno, errname(errno));
	scratch_owner_ = getpid();
	if (atexit(scratch_cleanup_) != 0)
		FAIL("atexit");
	if (chmod(scratch_dir_, 0755) != 0)
		FAIL("chmod(%s) (errno %d %s)", scratch_dir_, errno, errname(errno));
	return scratch_dir_;
}

// scratch_cd creates the scratch directory, makes it the working directory
// and returns its path; the tests then use relative names.
static inline const char *scratch_cd(void) {
	const char *d = scratch();
	if (chdir(d) != 0)
		FAIL("chdir(%s) (errno %d %s)", d, errno, errname(errno));
	return d;
}

// spath returns scratch()/name (one of 8 rotating buffers).
static inline const char *spath(const char *name) {
	static char buf[8][4096];
	static int next;
	char *b = buf[next++ % 8];
	snprintf(b, sizeof buf[0], "%s/%s", scratch(), name);
	return b;
}

// make_file creates (or truncates) path with mode and the given contents.
static inline void make_file(const char *path, mode_t mode, const char *data, size_t len) {
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		FAIL("creating %s (errno %d %s)", path, errno, errname(errno));
	if (len && write(fd, data, len) != (ssize_t)len)
		FAIL("writing %s (errno %d %s)", path, errno, errname(errno));
	if (fchmod(fd, mode) != 0) // undo the umask
		FAIL("fchmod %s (errno %d %s)", path, errno, errname(errno));
	close(fd);
}

// slurp reads up to size bytes of path from offset 0; returns the count
// (fails the test on error).
static inline ssize_t slurp(const char *path, void *buf, size_t size) {
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		FAIL("opening %s (errno %d %s)", path, errno, errname(errno));
	size_t n = 0;
	while (n < size) {
		ssize_t r = read(fd, (char *)buf + n, size - n);
		if (r < 0)
			FAIL("reading %s (errno %d %s)", path, errno, errname(errno));
		if (r == 0)
			break;
		n += r;
	}
	close(fd);
	return n;
}

// fsize returns st_size of path (following symlinks), or -1 with errno.
static inline long long fsize(const char *path) {
	struct stat st;
	if (stat(path, &st) != 0)
		return -1;
	return st.st_size;
}

// lexists reports whether path exists (without following a final symlink).
static inline int lexists(const char *path) {
	struct stat st;
	return lstat(path, &st) == 0;
}

// ino returns the inode number of path (lstat), failing if it is missing.
static inline ino_t ino(const char *path) {
	struct stat st;
	if (lstat(path, &st) != 0)
		FAIL("lstat(%s) (errno %d %s)", path, errno, errname(errno));
	return st.st_ino;
}

// drop_to_nobody switches the calling process to uid/gid 65534 with no
// supplementary groups; the program must be root.
static inline void drop_to_nobody(void) {
	gid_t g = NOBODY;
	if (setgroups(1, &g) != 0 || setresgid(NOBODY, NOBODY, NOBODY) != 0 ||
	    setresuid(NOBODY, NOBODY, NOBODY) != 0)
		FAIL("dropping to uid %d (errno %d %s)", NOBODY, errno, errname(errno));
}

// as_nobody runs fn(arg) in a forked child as uid/gid 65534 and fails the
// test unless it returns (the child then exits 0). It requires root.
static inline void as_nobody(void (*fn)(void *), void *arg) {
	if (geteuid() != 0)
		FAIL("as_nobody needs root");
	fflush(NULL);
	pid_t pid = XFORK();
	if (pid == 0) {
		alarm(10); // bound any wait in the child
		drop_to_nobody();
		fn(arg);
		_exit(0);
	}
	WAIT_EXIT(pid, 0);
}

// wait_fd polls fd for events for at most ms milliseconds and returns the
// revents (0 on timeout).
static inline short wait_fd(int fd, short events, int ms) {
	struct pollfd p = {.fd = fd, .events = events};
	int r;
	do
		r = poll(&p, 1, ms);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		FAIL("poll(%d) (errno %d %s)", fd, errno, errname(errno));
	return r ? p.revents : 0;
}

// sync_wait reads one byte from a pipe, failing after 5 s; sync_post writes
// one. Parents and children use pairs of pipes to take turns.
static inline char sync_wait(int fd) {
	if (!(wait_fd(fd, POLLIN, 5000) & (POLLIN | POLLHUP)))
		FAIL("timed out waiting on sync pipe %d", fd);
	char c = 0;
	if (read(fd, &c, 1) != 1)
		FAIL("sync pipe %d: peer gone (errno %d %s)", fd, errno, errname(errno));
	return c;
}

static inline void sync_post(int fd, char c) {
	if (write(fd, &c, 1) != 1)
		FAIL("sync pipe %d write (errno %d %s)", fd, errno, errname(errno));
}

#endif
