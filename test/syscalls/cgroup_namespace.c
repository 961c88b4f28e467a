// cgroup_namespace: unshare(CLONE_NEWCGROUP) and clone with
// CLONE_NEWCGROUP put the process in a new cgroup namespace rooted at its
// current cgroups: /proc/self/ns/cgroup names a new namespace (its link
// names the file's inode), every line of /proc/self/cgroup then shows
// "/", the roots of cgroup2 mounts in mountinfo are shown relative to the
// namespace root, fork children share the namespace, and the parent's is
// unchanged. setns(2) through a kept /proc/self/ns/cgroup file (nstype 0
// or CLONE_NEWCGROUP) or a pidfd joins a namespace again; another nstype
// is EINVAL. Without CAP_SYS_ADMIN unshare and clone are EPERM.
//
//go:build ignore

#include "ns_check.h"

// v2_path copies the cgroup v2 ("0::") path of /proc/self/cgroup to out.
static void v2_path(char *out, size_t size) {
	char buf[4096];
	CHECK(read_text("/proc/self/cgroup", buf, sizeof buf) > 0);
	char *p = strstr(buf, "0::");
	CHECK(p == buf || (p != NULL && p[-1] == '\n'));
	p += 3;
	size_t n = strcspn(p, "\n");
	CHECK(n < size);
	memcpy(out, p, n);
	out[n] = 0;
}

// all_root checks that every line of /proc/self/cgroup shows "/".
static void all_root(void) {
	char buf[4096];
	CHECK(read_text("/proc/self/cgroup", buf, sizeof buf) > 0);
	for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
		char *path = strchr(strchr(line, ':') + 1, ':') + 1;
		if (strcmp(path, "/") != 0)
			FAIL("cgroup line %s not at the namespace root", line);
	}
}

// v2_roots writes the roots (fourth field) of the cgroup2 mounts of
// mountinfo to out, one per line.
static void v2_roots(char *out, size_t size) {
	static char buf[65536];
	CHECK(read_text("/proc/self/mountinfo", buf, sizeof buf) > 0);
	out[0] = 0;
	for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
		char root[512], fstype[64];
		char *sep = strstr(line, " - ");
		CHECK(sep != NULL);
		CHECK(sscanf(line, "%*d %*d %*s %511s", root) == 1);
		CHECK(sscanf(sep + 3, "%63s", fstype) == 1);
		if (strcmp(fstype, "cgroup2") == 0 && strlen(out) + strlen(root) + 2 < size) {
			strcat(out, root);
			strcat(out, "\n");
		}
	}
}

// relative_roots writes what v2_roots shows for roots "/" seen from a
// namespace rooted at cgroup path (one "/.." per component).
static void expected_roots(const char *before, const char *path, char *out, size_t size) {
	if (strcmp(path, "/") == 0) {
		snprintf(out, size, "%s", before);
		return;
	}
	char up[512] = "";
	for (const char *p = path; *p; p++)
		if (*p == '/')
			strcat(up, "/..");
	out[0] = 0;
	for (const char *p = before; *p; p += strcspn(p, "\n") + 1) {
		CHECK(strncmp(p, "/\n", 2) == 0);
		strcat(out, up);
		strcat(out, "\n");
	}
}

int main(void) {
	alarm(20);
	ino_t own = proc_ns_ino("self", "cgroup");
	char path[512], roots[4096], want[4096];
	v2_path(path, sizeof path);
	v2_roots(roots, sizeof roots);
	expected_roots(roots, path, want, sizeof want);

	int keep = open("/proc/self/ns/cgroup", O_RDONLY | O_CLOEXEC);
	CHECK(keep >= 0);
	int ready[2], go[2];
	CHECK_OK(pipe(ready));
	CHECK_OK(pipe(go));
	pid_t pid = XFORK();
	if (pid == 0) {
		CHECK_OK(unshare(CLONE_NEWCGROUP));
		ino_t mine = proc_ns_ino("self", "cgroup");
		CHECK(mine != own);
		all_root();
		char now[4096];
		v2_roots(now, sizeof now);
		CHECK(strcmp(now, want) == 0);
		pid_t gc = XFORK();
		if (gc == 0)
			_exit(proc_ns_ino("self", "cgroup") == mine ? 0 : 1);
		WAIT_EXIT(gc, 0);
		// Let the parent join this namespace through a pidfd.
		CHECK(write(ready[1], "r", 1) == 1);
		char c;
		CHECK(read(go[0], &c, 1) == 1);
		// Back to the initial namespace through the kept file.
		CHECK_ERR(setns(keep, CLONE_NEWUTS), EINVAL);
		CHECK_OK(setns(keep, CLONE_NEWCGROUP));
		CHECK(proc_ns_ino("self", "cgroup") == own);
		char again[512];
		v2_path(again, sizeof again);
		CHECK(strcmp(again, path) == 0);
		CHECK_OK(setns(keep, 0));
		_exit(0);
	}
	char c;
	CHECK(read(ready[0], &c, 1) == 1);
	char who[16];
	snprintf(who, sizeof who, "%d", (int)pid);
	ino_t theirs = proc_ns_ino(who, "cgroup");
	CHECK(theirs != own);
	CHECK(proc_ns_ino("self", "cgroup") == own);
	int pfd = syscall(SYS_pidfd_open, pid, 0);
	CHECK(pfd >= 0);
	pid_t j = XFORK();
	if (j == 0) {
		CHECK_OK(setns(pfd, CLONE_NEWCGROUP));
		CHECK(proc_ns_ino("self", "cgroup") == theirs);
		all_root();
		_exit(0);
	}
	WAIT_EXIT(j, 0);
	CHECK(write(go[1], "g", 1) == 1);
	WAIT_EXIT(pid, 0);
	CHECK(proc_ns_ino("self", "cgroup") == own);

	// clone with the flag.
	pid = syscall(SYS_clone, CLONE_NEWCGROUP | SIGCHLD, 0, 0, 0, 0);
	CHECK(pid >= 0);
	if (pid == 0) {
		if (proc_ns_ino("self", "cgroup") == own)
			_exit(2);
		all_root();
		_exit(0);
	}
	WAIT_EXIT(pid, 0);
	CHECK(proc_ns_ino("self", "cgroup") == own);

	pid = XFORK();
	if (pid == 0) {
		set_cap(CAP_SYS_ADMIN, 0);
		CHECK_ERR(unshare(CLONE_NEWCGROUP), EPERM);
		CHECK_ERR(syscall(SYS_clone, CLONE_NEWCGROUP | SIGCHLD, 0, 0, 0, 0), EPERM);
		CHECK_ERR(setns(keep, CLONE_NEWCGROUP), EPERM);
		_exit(0);
	}
	WAIT_EXIT(pid, 0);
	return 0;
}
