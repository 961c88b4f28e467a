// pid_namespace: clone(CLONE_NEWPID) makes a child that is PID 1 of a new
// PID namespace (getpid 1, getppid 0, its inherited process group and
// session invisible: 0) while its parent knows it by its outer PID (clone's
// return, waitpid, waitid's si_pid, /proc/<pid>/status NSpid "outer 1");
// its children count from 2 and orphans are reparented to it; other
// processes are invisible from inside (ESRCH) and kill(-1) reaches only
// the namespace; a signal from the parent's namespace carries si_pid 0,
// one from inside the sender's ID; init ignores signals it has no handler
// for from inside its namespace and SIGTERM from outside, but SIGSTOP and
// SIGKILL from the parent's namespace reach it; CLONE_PARENT from init and
// CLONE_NEWPID with CLONE_THREAD are EINVAL; a proc mounted inside shows
// the namespace (self is 1) while the existing /proc shows the mounter's
// outer view; when init exits everything else in the namespace is killed
// before the parent can reap init. unshare(CLONE_NEWPID) moves only later
// children (pid_for_children differs from pid once that namespace has its
// init, and has no link before), a second unshare before a child is EINVAL, a second child is PID 2 with getppid 0, and once the
// namespace's init has exited fork is ENOMEM. Needs root (CAP_SYS_ADMIN);
// without it clone and unshare are EPERM.
//
// Natively the child enters a private mount namespace before mounting proc
// (nothing leaks to the host); the sandbox refuses unshare(CLONE_NEWNS)
// with EINVAL and the mount, made on a scratch directory, is undone.
//go:build ignore

#include "task_check.h"
#include "fs_check.h"
#include <dirent.h>
#include <linux/capability.h>
#include <sys/mount.h>

static volatile sig_atomic_t usr1_pid = -1, usr2_pid = -1;

static void on_usr(int sig, siginfo_t *si, void *uc) {
	(void)uc;
	if (sig == SIGUSR1)
		usr1_pid = si->si_pid;
	else
		usr2_pid = si->si_pid;
}

static void put_int(int fd, int v) { CHECK_EQ(write(fd, &v, sizeof v), (long)sizeof v); }

static int get_int(int fd) {
	int v;
	ssize_t n;
	do
		n = read(fd, &v, sizeof v);
	while (n < 0 && errno == EINTR);
	CHECK_EQ(n, (long)sizeof v);
	return v;
}

// status_field returns the text after "name:" in a status file's line.
static int status_field(const char *path, const char *name, char *out, size_t size) {
	char buf[8192];
	if (read_text(path, buf, sizeof buf) < 0)
		return -1;
	size_t len = strlen(name);
	for (char *l = buf; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		if (strncmp(l, name, len) == 0 && l[len] == ':') {
			char *v = l + len + 1;
			char *end = strchr(v, '\n');
			size_t n = end ? (size_t)(end - v) : strlen(v);
			if (n >= size)
				n = size - 1;
			memcpy(out, v, n);
			out[n] = 0;
			return 0;
		}
	}
	return -1;
}

// numeric_entries counts the numeric names in dir and checks each is one
// of allowed (n of them).
static int numeric_entries(const char *dir, const int *allowed, int n) {
	DIR *d = opendir(dir);
	CHECK(d != NULL);
	int count = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		int id = atoi(e->d_name), ok = 0;
		for (int i = 0; i < n; i++)
			ok |= allowed[i] == id;
		if (!ok)
			FAIL("%s lists %d", dir, id);
		count++;
	}
	closedir(d);
	return count;
}

// child_init runs as PID 1 of the new namespace. to/from are pipes to the
// parent; keep is a pipe whose write end a grandchild holds until killed.
static int child_init(int to, int from, int keep, pid_t outer_parent, const char *mnt) {
	CHECK_EQ(getpid(), 1);
	CHECK_EQ(syscall(SYS_gettid), 1);
	CHECK_EQ(getppid(), 0);
	CHECK_EQ(getpgrp(), 0); // the parent's group is not visible here
	CHECK_EQ(getsid(0), 0);
	if (outer_parent != 1)
		CHECK_ERR(kill(outer_parent, 0), ESRCH);
	CHECK_ERR(getpgid(outer_parent == 1 ? 2 : outer_parent), ESRCH);
	CHECK_ERR(syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, 0, 0, 0), EINVAL);

	struct sigaction sa = {.sa_sigaction = on_usr, .sa_flags = SA_SIGINFO | SA_RESTART};
	CHECK_OK(sigaction(SIGUSR1, &sa, NULL));
	CHECK_OK(sigaction(SIGUSR2, &sa, NULL));

	// The parent tells us our outer PID; /proc (its mounter's view) shows
	// that, with NSpid "outer 1".
	pid_t outer = get_int(from);
	char buf[256], want[64];
	ssize_t n = readlink("/proc/self", buf, sizeof buf - 1);
	CHECK(n > 0);
	buf[n] = 0;
	CHECK_EQ(atoi(buf), outer);
	char path[4200];
	snprintf(path, sizeof path, "/proc/%d/status", outer);
	CHECK_OK(status_field(path, "NSpid", buf, sizeof buf));
	snprintf(want, sizeof want, "\t%d\t1", outer);
	if (strcmp(buf, want) != 0)
		FAIL("NSpid %s, want %s", buf, want);

	// A signal from the parent's namespace: si_pid 0. Its SIGTERM (no
	// handler) is ignored; SIGSTOP stops us (the parent checks).
	put_int(to, 1);
	while (usr1_pid < 0)
		usleep(1000);
	CHECK_EQ(usr1_pid, 0);

	// Children count from 2; a signal from one carries its ID; signals
	// init has no handler for are ignored from inside.
	pid_t g = XFORK();
	if (g == 0) {
		CHECK_EQ(getpid(), 2);
		CHECK_EQ(getppid(), 1);
		CHECK_OK(kill(1, SIGUSR2));
		CHECK_OK(kill(1, SIGTERM));
		CHECK_OK(kill(1, SIGKILL));
		_exit(0);
	}
	CHECK_EQ(g, 2);
	WAIT_EXIT(g, 0);
	while (usr2_pid < 0)
		usleep(1000);
	CHECK_EQ(usr2_pid, 2);
	CHECK_OK(kill(1, SIGTERM)); // to itself: ignored too

	// An orphan is reparented to init.
	pid_t mid = XFORK();
	if (mid == 0) {
		pid_t orphan = XFORK();
		if (orphan == 0) {
			for (int i = 0; i < 5000 && getppid() != 1; i++)
				usleep(1000);
			_exit(getppid() == 1 ? 0 : 1);
		}
		_exit(0);
	}
	WAIT_EXIT(mid, 0);
	int ws;
	pid_t o;
	do
		o = waitpid(-1, &ws, 0);
	while (o < 0 && errno == EINTR);
	CHECK(o > 1);
	CHECK(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);

	// kill(-1) reaches this namespace only (the parent's witness lives).
	pid_t victim = XFORK();
	if (victim == 0) {
		for (;;)
			pause();
	}
	CHECK_OK(kill(-1, SIGKILL));
	WAIT_KILLED(victim, SIGKILL);

	// A proc mounted here shows this namespace.
	if (unshare(CLONE_NEWNS) != 0)
		CHECK_EQ(errno, EINVAL);
	else
		CHECK_OK(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL));
	CHECK_OK(mount("proc", mnt, "proc", 0, NULL));
	snprintf(path, sizeof path, "%s/self", mnt);
	n = readlink(path, buf, sizeof buf - 1);
	CHECK(n > 0);
	buf[n] = 0;
	CHECK_EQ(atoi(buf), 1);
	snprintf(path, sizeof path, "%s/1/status", mnt);
	CHECK_OK(status_field(path, "NSpid", buf, sizeof buf));
	if (strcmp(buf, "\t1") != 0)
		FAIL("NSpid in the namespace's proc: %s", buf);
	CHECK_OK(status_field(path, "PPid", buf, sizeof buf));
	CHECK_EQ(atoi(buf), 0);
	int only[] = {1};
	CHECK_EQ(numeric_entries(mnt, only, 1), 1);
	CHECK_OK(umount2(mnt, 0));

	// A sleeper that holds keep open: killed when init exits, before the
	// parent reaps init.
	pid_t sleeper = XFORK();
	if (sleeper == 0) {
		for (;;)
			pause();
	}
	close(keep);
	put_int(to, 2);
	CHECK_EQ(get_int(from), 3);
	return 7;
}

static void test_clone(void) {
	const char *dir = scratch();
	char mnt[4096];
	snprintf(mnt, sizeof mnt, "%s/p", dir);
	CHECK_OK(mkdir(mnt, 0755));

	pid_t witness = XFORK();
	if (witness == 0) {
		for (;;)
			pause();
	}
	int to[2], from[2], keep[2];
	CHECK_OK(pipe(to));
	CHECK_OK(pipe(from));
	CHECK_OK(pipe2(keep, O_NONBLOCK));
	pid_t me = getpid();
	long c = syscall(SYS_clone, CLONE_NEWPID | SIGCHLD, 0, 0, 0, 0);
	CHECK(c >= 0);
	if (c == 0) {
		close(to[0]);
		close(from[1]);
		close(keep[0]);
		_exit(child_init(to[1], from[0], keep[1], me, mnt));
	}
	close(to[1]);
	close(from[0]);
	close(keep[1]);
	CHECK(c != 1);
	put_int(from[1], (int)c);

	CHECK_EQ(get_int(to[0]), 1);
	CHECK_OK(kill(c, SIGTERM)); // ignored: init, no handler
	CHECK_OK(kill(c, SIGSTOP));
	int ws = WAITPID(c, WUNTRACED);
	CHECK(WIFSTOPPED(ws) && WSTOPSIG(ws) == SIGSTOP);
	CHECK_OK(kill(c, SIGCONT));
	CHECK_OK(kill(c, SIGUSR1));

	CHECK_EQ(get_int(to[0]), 2);
	// The witness outside survived the child's kill(-1).
	CHECK_EQ(waitpid(witness, &ws, WNOHANG), 0);
	put_int(from[1], 3);

	siginfo_t si;
	memset(&si, 0, sizeof si);
	while (waitid(P_PID, c, &si, WEXITED | WNOWAIT) != 0)
		CHECK_EQ(errno, EINTR);
	CHECK_EQ(si.si_pid, c);
	WAIT_EXIT(c, 7);
	// Init's reaping means the sleeper is gone: the pipe it held is at
	// its end.
	char b;
	CHECK_EQ(read(keep[0], &b, 1), 0);
	CHECK_OK(kill(witness, SIGKILL));
	WAIT_KILLED(witness, SIGKILL);
	CHECK_OK(rmdir(mnt));

	// A thread cannot be in another namespace than its process.
	CHECK_ERR(syscall(SYS_clone, CLONE_NEWPID | CLONE_THREAD | CLONE_SIGHAND | CLONE_VM, 0, 0, 0, 0), EINVAL);
}

static int ns_link(const char *name, char *out, size_t size) {
	char path[64];
	snprintf(path, sizeof path, "/proc/self/ns/%s", name);
	ssize_t n = readlink(path, out, size - 1);
	if (n < 0)
		return -1;
	out[n] = 0;
	return 0;
}

static void test_unshare(void) {
	pid_t h = XFORK();
	if (h == 0) {
		pid_t self = getpid();
		char pid_ns[64], child_ns[64];
		CHECK_OK(ns_link("pid", pid_ns, sizeof pid_ns));
		CHECK_OK(ns_link("pid_for_children", child_ns, sizeof child_ns));
		CHECK(strcmp(pid_ns, child_ns) == 0);
		CHECK_OK(unshare(CLONE_NEWPID));
		CHECK_EQ(getpid(), self); // the caller does not move
		CHECK_OK(ns_link("pid", child_ns, sizeof child_ns));
		CHECK(strcmp(pid_ns, child_ns) == 0);
		// No link until the namespace has its init.
		CHECK_ERR(ns_link("pid_for_children", child_ns, sizeof child_ns), ENOENT);
		CHECK_ERR(unshare(CLONE_NEWPID), EINVAL);

		int go[2];
		CHECK_OK(pipe(go));
		pid_t i1 = XFORK();
		if (i1 == 0) {
			close(go[1]);
			if (getpid() != 1 || getppid() != 0)
				_exit(1);
			char c;
			_exit(read(go[0], &c, 1) == 0 ? 0 : 2);
		}
		close(go[0]);
		CHECK_OK(ns_link("pid_for_children", child_ns, sizeof child_ns));
		CHECK(strcmp(pid_ns, child_ns) != 0);
		pid_t i2 = XFORK();
		if (i2 == 0)
			_exit(getpid() == 2 && getppid() == 0 ? 0 : 1);
		WAIT_EXIT(i2, 0);
		close(go[1]);
		WAIT_EXIT(i1, 0);
		// The namespace's init is gone: no process can join it.
		CHECK_ERR(fork(), ENOMEM);
		_exit(0);
	}
	WAIT_EXIT(h, 0);
}

int main(void) {
	alarm(20);
	struct __user_cap_header_struct hd = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2];
	CHECK_OK(syscall(SYS_capget, &hd, d));
	if (!((d[0].effective >> CAP_SYS_ADMIN) & 1)) {
		pid_t p = XFORK();
		if (p == 0) {
			CHECK_ERR(unshare(CLONE_NEWPID), EPERM);
			CHECK_ERR(syscall(SYS_clone, CLONE_NEWPID | SIGCHLD, 0, 0, 0, 0), EPERM);
			_exit(0);
		}
		WAIT_EXIT(p, 0);
		return 0;
	}
	test_clone();
	test_unshare();
	return 0;
}
