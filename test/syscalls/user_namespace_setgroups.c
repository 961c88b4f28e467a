// user_namespace_setgroups: the rules for a user namespace an
// unprivileged process (uid and gid 65534, no capabilities) makes for
// itself. It may map only its own user ID (uid_map "0 65534 1"; another
// lower ID, or more than one, is EPERM). Its gid_map write is EPERM
// until /proc/self/setgroups is "deny"; after that it may map its own
// group ID, setgroups(2) stays EPERM, "allow" is refused, and "deny" is
// refused once gid_map is written. A child namespace inherits "deny".
// Writing setgroups needs CAP_SYS_ADMIN in the namespace: a process that
// dropped it gets EACCES.
//
//go:build ignore

#include "userns_check.h"

int main(void) {
	if (getuid() != 0)
		return 0; // needs to become uid 65534 first
	pid_t pid = XFORK();
	if (pid == 0) {
		CHECK_OK(setgroups(0, NULL));
		CHECK_OK(setresgid(65534, 65534, 65534));
		CHECK_OK(setresuid(65534, 65534, 65534));
		CHECK_EQ(effective_caps(), 0);
		// Changing IDs made the process undumpable, its /proc files
		// root's: make them its own again.
		CHECK_OK(prctl(PR_SET_DUMPABLE, 1));
		CHECK_OK(unshare(CLONE_NEWUSER));
		char buf[256];
		// Not our own ID, or more than one: EPERM.
		CHECK_ERR(proc_write(0, "uid_map", "0 0 1"), EPERM);
		CHECK_ERR(proc_write(0, "uid_map", "0 65534 2"), EPERM);
		CHECK_ERR(proc_write(0, "uid_map", "0 65534 1\n1 65533 1"), EPERM);
		// gid_map before setgroups is denied: EPERM.
		CHECK_ERR(proc_write(0, "gid_map", "0 65534 1"), EPERM);
		CHECK_OK(proc_write(0, "uid_map", "0 65534 1"));
		CHECK_OK(proc_write(0, "setgroups", "deny\n"));
		CHECK_ERR(proc_write(0, "gid_map", "0 0 1"), EPERM);
		CHECK_OK(proc_write(0, "gid_map", "0 65534 1"));
		CHECK_EQ((long)getuid(), 0);
		CHECK_EQ((long)getgid(), 0);
		CHECK_ERR(setgroups(0, NULL), EPERM);
		CHECK_ERR(proc_write(0, "setgroups", "allow"), EPERM);
		CHECK_ERR(proc_write(0, "setgroups", "deny"), EPERM); // gid_map is written
		CHECK_ERR(proc_write(0, "setgroups", "maybe"), EINVAL);
		proc_read(0, "setgroups", buf, sizeof buf);
		CHECK(strcmp(buf, "deny\n") == 0);
		// A namespace below inherits "deny".
		pid_t c = XFORK();
		if (c == 0) {
			CHECK_OK(unshare(CLONE_NEWUSER));
			proc_read(0, "setgroups", buf, sizeof buf);
			CHECK(strcmp(buf, "deny\n") == 0);
			CHECK_ERR(proc_write(0, "setgroups", "allow"), EPERM);
			_exit(0);
		}
		WAIT_EXIT(c, 0);
		// Without CAP_SYS_ADMIN in the namespace, setgroups cannot be
		// written at all.
		c = XFORK();
		if (c == 0) {
			CHECK_OK(unshare(CLONE_NEWUSER));
			struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
			struct __user_cap_data_struct d[2] = {{0}};
			CHECK_OK(syscall(SYS_capset, &h, d));
			CHECK_ERR(proc_write(0, "setgroups", "deny"), EACCES);
			_exit(0);
		}
		WAIT_EXIT(c, 0);
		_exit(0);
	}
	WAIT_EXIT(pid, 0);
	return 0;
}
