// fs_inotify_anon_attr: with an inotify watch active, fchmod of a memfd (a
// file with no name in any directory) succeeds and reports nothing to the
// watched directory; the sandbox once crashed looking for the memfd's
// parent directory to report IN_ATTRIB to.
//
//go:build ignore

#include "fs_check.h"
#include <sys/inotify.h>
#include <sys/mman.h>

int main(void) {
	scratch_cd();
	int in = inotify_init1(IN_NONBLOCK);
	CHECK(in >= 0);
	CHECK(inotify_add_watch(in, ".", IN_ALL_EVENTS) >= 0);
	int m = memfd_create("anon", 0);
	CHECK(m >= 0);
	CHECK_OK(fchmod(m, 0600));
	CHECK_OK(fchmod(m, 0644));
	struct stat st;
	CHECK_OK(fstat(m, &st));
	CHECK_EQ(st.st_mode & 07777, 0644);
	CHECK_EQ(ftruncate(m, 4096), 0);
	char buf[4096];
	CHECK_ERR(read(in, buf, sizeof buf), EAGAIN); // nothing in the watched directory
	return 0;
}
