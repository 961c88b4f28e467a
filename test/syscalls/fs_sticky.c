// fs_sticky: in a world-writable sticky directory (like /tmp) an
// unprivileged user may create and remove its own files but not unlink or
// rename over other users' files (EPERM), even with write permission on the
// directory; without the sticky bit it may; the directory owner and root
// may always. Needs root (runs the checks as uid 65534).
//
//go:build ignore

#include "fs_check.h"

static void child(void *arg) {
	(void)arg;
	make_file(spath("t/mine"), 0644, NULL, 0);
	CHECK_ERR(unlink(spath("t/roots")), EPERM);
	CHECK_ERR(rename(spath("t/roots"), spath("t/x")), EPERM);
	CHECK_ERR(rename(spath("t/mine"), spath("t/roots")), EPERM);
	CHECK_ERR(rmdir(spath("t/rootdir")), EPERM);
	CHECK_OK(rename(spath("t/mine"), spath("t/mine2")));
	CHECK_OK(unlink(spath("t/mine2")));
	// Not sticky: anyone with write permission may unlink.
	CHECK_OK(unlink(spath("n/roots")));
	// A directory owned by nobody, sticky: nobody owns the dir, so it
	// may remove root's file there.
	CHECK_OK(unlink(spath("own/roots")));
}

int main(void) {
	if (geteuid() != 0)
		return 0;
	scratch();
	CHECK_OK(mkdir(spath("t"), 0777));
	CHECK_OK(chmod(spath("t"), 01777));
	CHECK_OK(mkdir(spath("n"), 0777));
	CHECK_OK(chmod(spath("n"), 0777));
	CHECK_OK(mkdir(spath("own"), 0755));
	CHECK_OK(chmod(spath("own"), 01755));
	CHECK_OK(chown(spath("own"), NOBODY, NOBODY));
	make_file(spath("t/roots"), 0666, NULL, 0); // even world-writable
	make_file(spath("n/roots"), 0644, NULL, 0);
	make_file(spath("own/roots"), 0644, NULL, 0);
	CHECK_OK(mkdir(spath("t/rootdir"), 0777));
	struct stat st;
	CHECK_OK(stat(spath("t"), &st));
	CHECK_EQ(st.st_mode & 07777, 01777);

	as_nobody(child, NULL);

	CHECK(lexists(spath("t/roots")));
	CHECK(!lexists(spath("n/roots")));
	CHECK(!lexists(spath("own/roots")));
	// Root may remove anything.
	make_file(spath("t/other"), 0644, NULL, 0);
	CHECK_OK(chown(spath("t/other"), NOBODY, NOBODY));
	CHECK_OK(unlink(spath("t/other")));
	CHECK_OK(unlink(spath("t/roots")));
	return 0;
}
