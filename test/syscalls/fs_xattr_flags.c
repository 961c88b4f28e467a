// fs_xattr_flags: XATTR_CREATE fails with EEXIST on an existing attribute,
// XATTR_REPLACE with ENODATA on a missing one, unknown flags EINVAL; a
// size-0 get/list returns the needed size, a too small buffer ERANGE; an
// empty or too long name is ERANGE, an unprefixed one EOPNOTSUPP, a value
// over 64 KiB E2BIG;
// user.* on a symlink itself is EPERM. (EOPNOTSUPP for user.* is accepted
// as "no xattrs here".)
//
//go:build ignore

#include "fs_check.h"
#include <sys/xattr.h>

int main(void) {
	scratch_cd();
	make_file("f", 0644, NULL, 0);
	if (setxattr("f", "user.x", "value", 5, XATTR_CREATE) != 0) {
		CHECK_EQ(errno, EOPNOTSUPP);
		return 0;
	}
	CHECK_ERR(setxattr("f", "user.x", "v2", 2, XATTR_CREATE), EEXIST);
	CHECK_ERR(setxattr("f", "user.new", "v", 1, XATTR_REPLACE), ENODATA);
	CHECK_OK(setxattr("f", "user.x", "longer value", 12, XATTR_REPLACE));
	CHECK_ERR(setxattr("f", "user.x", "v", 1, 0x10), EINVAL);

	// Size queries and small buffers.
	CHECK_EQ(getxattr("f", "user.x", NULL, 0), 12);
	char v[64];
	CHECK_EQ(getxattr("f", "user.x", v, 0), 12);
	CHECK_ERR(getxattr("f", "user.x", v, 11), ERANGE);
	CHECK_EQ(getxattr("f", "user.x", v, 12), 12);
	CHECK_MEM(v, "longer value", 12);
	CHECK_OK(setxattr("f", "user.yy", "", 0, 0));
	ssize_t need = listxattr("f", NULL, 0);
	CHECK(need >= (ssize_t)(sizeof "user.x" + sizeof "user.yy"));
	char list[256];
	CHECK_ERR(listxattr("f", list, 3), ERANGE);
	CHECK_EQ(listxattr("f", list, sizeof list), need);

	// Names.
	CHECK_ERR(setxattr("f", "", "v", 1, 0), ERANGE);
	CHECK_ERR(setxattr("f", "noprefix", "v", 1, 0), EOPNOTSUPP);
	CHECK_ERR(getxattr("f", "noprefix", v, sizeof v), EOPNOTSUPP);
	char longname[300] = "user.";
	memset(longname + 5, 'n', 260);
	longname[265] = 0;
	CHECK_ERR(setxattr("f", longname, "v", 1, 0), ERANGE);
	CHECK_ERR(getxattr("f", longname, v, sizeof v), ERANGE);
	static char big[70000];
	CHECK_ERR(setxattr("f", "user.big", big, sizeof big, 0), E2BIG);

	// user.* on the symlink itself is not allowed; through it, fine.
	CHECK_OK(symlink("f", "l"));
	CHECK_ERR(lsetxattr("l", "user.l", "v", 1, 0), EPERM);
	CHECK_ERR(lgetxattr("l", "user.x", v, sizeof v), ENODATA);
	CHECK_OK(setxattr("l", "user.via", "v", 1, 0));
	CHECK_EQ(getxattr("f", "user.via", v, sizeof v), 1);
	// ... and on FIFOs it is EPERM too (user.* only on files and dirs).
	CHECK_OK(mkfifo("p", 0644));
	CHECK_ERR(setxattr("p", "user.p", "v", 1, 0), EPERM);
	return 0;
}
