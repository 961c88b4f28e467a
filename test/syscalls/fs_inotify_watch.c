// fs_inotify_watch: inotify_add_watch on the same inode returns the same
// watch descriptor (also via another path), IN_MASK_ADD merges masks and
// IN_MASK_CREATE refuses an existing watch (EEXIST); inotify_rm_watch
// produces IN_IGNORED and a second removal is EINVAL; deleting a watched
// file yields IN_ATTRIB (nlink), IN_DELETE_SELF and IN_IGNORED; an empty
// mask is EINVAL, IN_ONLYDIR on a file ENOTDIR, a missing path ENOENT.
//
//go:build ignore

#include "fs_check.h"
#include <sys/inotify.h>

static char evbuf[8192] __attribute__((aligned(8)));

// masks returns the union of masks of events for wd within ~100 ms.
static uint32_t masks(int in, int wd) {
	uint32_t m = 0;
	int timeout = 2000;
	while (wait_fd(in, POLLIN, timeout) & POLLIN) {
		long n = read(in, evbuf, sizeof evbuf);
		CHECK(n > 0);
		for (long p = 0; p < n;) {
			struct inotify_event *e = (void *)(evbuf + p);
			p += sizeof *e + e->len;
			if (e->wd == wd)
				m |= e->mask;
		}
		timeout = 100;
	}
	return m;
}

int main(void) {
	scratch_cd();
	make_file("f", 0644, NULL, 0);
	CHECK_OK(link("f", "g"));
	int in = inotify_init1(IN_NONBLOCK);
	CHECK(in >= 0);
	int w1 = inotify_add_watch(in, "f", IN_ATTRIB);
	CHECK(w1 >= 0);
	CHECK_EQ(inotify_add_watch(in, "g", IN_ATTRIB), w1);
	CHECK_EQ(inotify_add_watch(in, spath("f"), IN_MODIFY | IN_MASK_ADD), w1);
	CHECK_ERR(inotify_add_watch(in, "f", IN_MODIFY | IN_MASK_CREATE), EEXIST);
	// Both IN_ATTRIB and IN_MODIFY are now reported.
	CHECK_OK(truncate("f", 1));
	CHECK_OK(chmod("f", 0600));
	uint32_t m = masks(in, w1);
	CHECK_EQ(m & (IN_ATTRIB | IN_MODIFY), IN_ATTRIB | IN_MODIFY);
	// Without IN_MASK_ADD the mask is replaced.
	CHECK_EQ(inotify_add_watch(in, "f", IN_ATTRIB), w1);
	CHECK_OK(truncate("f", 2));
	CHECK_OK(chmod("f", 0644));
	m = masks(in, w1);
	CHECK_EQ(m & (IN_ATTRIB | IN_MODIFY), IN_ATTRIB);

	CHECK_OK(inotify_rm_watch(in, w1));
	CHECK_EQ(masks(in, w1), IN_IGNORED);
	CHECK_ERR(inotify_rm_watch(in, w1), EINVAL);

	// Deleting the last link of a watched file.
	int w2 = inotify_add_watch(in, "f", IN_ALL_EVENTS);
	CHECK(w2 >= 0);
	CHECK_OK(unlink("g"));
	CHECK_OK(unlink("f"));
	m = masks(in, w2);
	CHECK_EQ(m & (IN_ATTRIB | IN_DELETE_SELF | IN_IGNORED), IN_ATTRIB | IN_DELETE_SELF | IN_IGNORED);
	CHECK_ERR(inotify_rm_watch(in, w2), EINVAL);

	make_file("h", 0644, NULL, 0);
	CHECK_ERR(inotify_add_watch(in, "h", 0), EINVAL);
	CHECK_ERR(inotify_add_watch(in, "h", IN_ATTRIB | IN_ONLYDIR), ENOTDIR);
	CHECK_ERR(inotify_add_watch(in, "missing", IN_ATTRIB), ENOENT);
	CHECK_OK(symlink("h", "l"));
	int wl = inotify_add_watch(in, "l", IN_ATTRIB | IN_DONT_FOLLOW);
	int wh = inotify_add_watch(in, "h", IN_ATTRIB);
	CHECK(wl >= 0 && wh >= 0 && wl != wh);
	CHECK_ERR(inotify_add_watch(1, "h", IN_ATTRIB), EINVAL); // not inotify
	CHECK_ERR(inotify_init1(0x1), EINVAL);
	close(in);
	return 0;
}
