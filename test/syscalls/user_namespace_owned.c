// user_namespace_owned: namespaces created together with a user namespace,
// or from inside one, belong to it, so the capabilities held there grant
// power over them. unshare(CLONE_NEWUSER | CLONE_NEWUTS) and
// clone(CLONE_NEWUSER | CLONE_NEWUTS) give a process that may set the new
// namespace's host name, even without any capability in the parent; a
// UTS namespace created from inside the user namespace can be set too,
// while the parent's host name stays as it was. An unprivileged process
// may create them (no capability is asked in its own namespace), but
// not a UTS namespace alone (EPERM). A process with CAP_KILL in a user
// namespace may signal a process of another user in it.
//
//go:build ignore

#include "userns_check.h"
#include <sys/utsname.h>

static char stack[64 * 1024] __attribute__((aligned(16)));

static int cloned(void *arg) {
	(void)arg;
	CHECK_OK(sethostname("cloned", 6));
	struct utsname u;
	CHECK_OK(uname(&u));
	CHECK(strcmp(u.nodename, "cloned") == 0);
	return 0;
}

int main(void) {
	struct utsname before, u;
	CHECK_OK(uname(&before));
	pid_t pid = XFORK();
	if (pid == 0) {
		if (getuid() == 0) {
			// Unprivileged from here on.
			CHECK_OK(setgroups(0, NULL));
			CHECK_OK(setresgid(65534, 65534, 65534));
			CHECK_OK(setresuid(65534, 65534, 65534));
			CHECK_OK(prctl(PR_SET_DUMPABLE, 1));
		}
		CHECK_ERR(unshare(CLONE_NEWUTS), EPERM);
		pid_t c = clone(cloned, stack + sizeof stack, CLONE_NEWUSER | CLONE_NEWUTS | SIGCHLD, NULL);
		CHECK(c > 0);
		WAIT_EXIT(c, 0);

		CHECK_OK(unshare(CLONE_NEWUSER | CLONE_NEWUTS));
		CHECK_OK(sethostname("owned", 5));
		CHECK_OK(uname(&u));
		CHECK(strcmp(u.nodename, "owned") == 0);
		// And from inside: a further UTS namespace.
		CHECK_OK(unshare(CLONE_NEWUTS));
		CHECK_OK(sethostname("inner", 5));
		_exit(0);
	}
	WAIT_EXIT(pid, 0);
	CHECK_OK(uname(&u));
	CHECK(strcmp(u.nodename, before.nodename) == 0);

	// CAP_KILL in the namespace reaches its other users.
	if (getuid() == 0 && has_cap(CAP_SETUID)) {
		int to_child[2], to_parent[2];
		CHECK_OK(pipe(to_child));
		CHECK_OK(pipe(to_parent));
		pid = XFORK();
		if (pid == 0) {
			close(to_child[1]);
			close(to_parent[0]);
			CHECK_OK(unshare(CLONE_NEWUSER));
			sync_post(to_parent[1]);
			sync_wait(to_child[0]); // the parent maps our IDs
			pid_t victim = XFORK();
			if (victim == 0) {
				CHECK_OK(setresuid(5, 5, 5));
				pause();
				_exit(1);
			}
			msleep(50);
			CHECK_OK(kill(victim, SIGKILL));
			WAIT_KILLED(victim, SIGKILL);
			_exit(0);
		}
		close(to_child[0]);
		close(to_parent[1]);
		sync_wait(to_parent[0]);
		CHECK_OK(proc_write(pid, "uid_map", "0 0 1\n1 100000 10"));
		CHECK_OK(proc_write(pid, "gid_map", "0 0 1\n1 100000 10"));
		sync_post(to_child[1]);
		WAIT_EXIT(pid, 0);
	}
	return 0;
}
