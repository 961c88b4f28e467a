// fs_xattr_trusted: trusted.* attributes need CAP_SYS_ADMIN: root can set
// and read them; an unprivileged process cannot set them (EPERM), does not
// see them in listxattr and cannot read them (ENODATA). user.* needs write
// permission on the file to set (EACCES) and read permission to get. Needs
// root. (ext4 and tmpfs both support trusted.*.)
// In the sandbox the fixture lies in the root's writable layer, which the
// sentry keeps (the default store overlay), so its trusted.* are served;
// a gofer tree's are not (the gofer has no CAP_SYS_ADMIN).
//
//go:build ignore

#include "fs_check.h"
#include <sys/xattr.h>

static void child(void *arg) {
	int user_ok = *(int *)arg;
	const char *f = spath("f");
	char v[64], list[256];
	CHECK_ERR(setxattr(f, "trusted.t2", "x", 1, 0), EPERM);
	CHECK_ERR(getxattr(f, "trusted.t", v, sizeof v), ENODATA);
	ssize_t n = listxattr(f, list, sizeof list);
	CHECK(n >= 0);
	for (ssize_t i = 0; i < n; i += strlen(list + i) + 1)
		CHECK(strncmp(list + i, "trusted.", 8) != 0);
	CHECK_ERR(removexattr(f, "trusted.t"), EPERM);
	if (user_ok) {
		// 0644 root file: readable, not writable.
		CHECK_EQ(getxattr(f, "user.u", v, sizeof v), 1);
		CHECK_ERR(setxattr(f, "user.u", "y", 1, 0), EACCES);
		CHECK_ERR(removexattr(f, "user.u"), EACCES);
		CHECK_ERR(getxattr(spath("private"), "user.u", v, sizeof v), EACCES);
	}
}

int main(void) {
	if (geteuid() != 0)
		return 0;
	scratch();
	const char *f = spath("f");
	make_file(f, 0644, NULL, 0);
	make_file(spath("private"), 0600, NULL, 0);
	CHECK_OK(setxattr(f, "trusted.t", "secret", 6, 0));
	char v[64];
	CHECK_EQ(getxattr(f, "trusted.t", v, sizeof v), 6);
	CHECK_MEM(v, "secret", 6);
	char list[256];
	ssize_t n = listxattr(f, list, sizeof list);
	int seen = 0;
	for (ssize_t i = 0; i < n; i += strlen(list + i) + 1)
		seen |= !strcmp(list + i, "trusted.t");
	CHECK(seen);

	int user_ok = setxattr(f, "user.u", "x", 1, 0) == 0;
	if (!user_ok)
		CHECK_EQ(errno, EOPNOTSUPP);
	else
		CHECK_OK(setxattr(spath("private"), "user.u", "x", 1, 0));
	as_nobody(child, &user_ok);
	CHECK_EQ(getxattr(f, "trusted.t", v, sizeof v), 6);
	CHECK_OK(removexattr(f, "trusted.t"));
	CHECK_ERR(getxattr(f, "trusted.t", v, sizeof v), ENODATA);
	return 0;
}
