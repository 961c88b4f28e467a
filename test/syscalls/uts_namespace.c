// uts_namespace: after unshare(CLONE_NEWUTS) a process may change its
// hostname and domain name (uname shows them) without affecting the parent's
// namespace; its fork children share the new namespace; a name longer than
// 64 bytes is EINVAL. Without CAP_SYS_ADMIN, unshare is EPERM.
//
//go:build ignore

#include "task_check.h"
#include <linux/capability.h>
#include <sys/utsname.h>

int main(void) {
	struct utsname before;
	CHECK_OK(uname(&before));
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2];
	CHECK_OK(syscall(SYS_capget, &h, d));
	int admin = (d[0].effective >> CAP_SYS_ADMIN) & 1;

	pid_t pid = XFORK();
	if (pid == 0) {
		if (!admin) {
			CHECK_ERR(unshare(CLONE_NEWUTS), EPERM);
			CHECK_ERR(sethostname("x", 1), EPERM);
			_exit(0);
		}
		CHECK_OK(unshare(CLONE_NEWUTS));
		struct utsname u;
		CHECK_OK(uname(&u));
		CHECK(strcmp(u.nodename, before.nodename) == 0); // a copy to start with
		const char *name = "cocoon-uts-test";
		CHECK_OK(sethostname(name, strlen(name)));
		CHECK_OK(setdomainname("example.test", 12));
		CHECK_OK(uname(&u));
		CHECK(strcmp(u.nodename, name) == 0);
		CHECK(strcmp(u.domainname, "example.test") == 0);
		char buf[80];
		CHECK_OK(gethostname(buf, sizeof buf));
		CHECK(strcmp(buf, name) == 0);
		char longname[70];
		memset(longname, 'a', sizeof longname);
		CHECK_ERR(sethostname(longname, 65), EINVAL);
		CHECK_OK(sethostname(longname, 64));
		CHECK_OK(sethostname(name, strlen(name)));
		pid_t gc = XFORK();
		if (gc == 0) {
			struct utsname g;
			uname(&g);
			_exit(strcmp(g.nodename, name) == 0 ? 0 : 1);
		}
		WAIT_EXIT(gc, 0);
		_exit(0);
	}
	WAIT_EXIT(pid, 0);
	struct utsname after;
	CHECK_OK(uname(&after));
	CHECK(strcmp(after.nodename, before.nodename) == 0);
	CHECK(strcmp(after.domainname, before.domainname) == 0);
	return 0;
}
