// uname: sysname is "Linux", machine is "x86_64", release starts with
// "<major>.<minor>" of a kernel new enough for this suite, every field is
// NUL-terminated within its 65 bytes; a bad pointer -> EFAULT.
//
//go:build ignore

#include "check.h"
#include <sys/utsname.h>

static void terminated(const char *f, const char *what) {
	if (memchr(f, 0, 65) == NULL)
		FAIL("uname %s is not NUL-terminated", what);
}

int main(void) {
	struct utsname u;
	memset(&u, 'Z', sizeof u);
	CHECK_EQ(uname(&u), 0);
	terminated(u.sysname, "sysname");
	terminated(u.nodename, "nodename");
	terminated(u.release, "release");
	terminated(u.version, "version");
	terminated(u.machine, "machine");
	terminated(u.domainname, "domainname");
	if (strcmp(u.sysname, "Linux"))
		FAIL("sysname (got %s want Linux)", u.sysname);
	if (strcmp(u.machine, "x86_64"))
		FAIL("machine (got %s want x86_64)", u.machine);
	int major = 0, minor = 0;
	if (sscanf(u.release, "%d.%d", &major, &minor) != 2)
		FAIL("release %s is not <major>.<minor>...", u.release);
	if (major < 4 || (major == 4 && minor < 4))
		FAIL("release %s is older than 4.4", u.release);
	CHECK(strlen(u.version) > 0);
	CHECK(strlen(u.nodename) > 0);

	struct utsname v;
	CHECK_EQ(syscall(SYS_uname, &v), 0);
	CHECK_EQ(strcmp(v.release, u.release), 0);
	CHECK_EQ(strcmp(v.nodename, u.nodename), 0);
	CHECK_ERR(syscall(SYS_uname, bad_addr()), EFAULT);
	return 0;
}
