// fs_inotify_create: a directory watch reports IN_CREATE for new files,
// directories (with IN_ISDIR), symlinks and FIFOs, and IN_DELETE for
// removals, in order and with the entry names; the watch descriptor is in
// every event; reads are bounded with poll, and an empty non-blocking
// inotify fd reads EAGAIN.
//
//go:build ignore

#include "fs_check.h"
#include <sys/inotify.h>

static char evbuf[8192] __attribute__((aligned(8)));
static long evlen, evpos;

// next_event returns the next event, waiting up to 2 s for more.
static struct inotify_event *next_event(int in) {
	if (evpos >= evlen) {
		if (!(wait_fd(in, POLLIN, 2000) & POLLIN))
			FAIL("no inotify event within 2 s");
		evlen = read(in, evbuf, sizeof evbuf);
		CHECK(evlen > 0);
		evpos = 0;
	}
	struct inotify_event *e = (void *)(evbuf + evpos);
	evpos += sizeof *e + e->len;
	return e;
}

static void expect(int in, int wd, uint32_t mask, const char *name) {
	struct inotify_event *e = next_event(in);
	if (e->wd != wd || e->mask != mask || strcmp(e->len ? e->name : "", name))
		FAIL("event wd %d mask %#x name %s, want wd %d mask %#x name %s", e->wd, e->mask,
		     e->len ? e->name : "", wd, mask, name);
}

int main(void) {
	scratch_cd();
	int in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	CHECK(in >= 0);
	int wd = inotify_add_watch(in, ".", IN_CREATE | IN_DELETE);
	CHECK(wd >= 0);
	char b[64];
	CHECK_ERR(read(in, b, sizeof b), EAGAIN);

	make_file("file", 0644, "x", 1);
	CHECK_OK(mkdir("dir", 0755));
	CHECK_OK(symlink("file", "link"));
	CHECK_OK(mkfifo("fifo", 0644));
	CHECK_OK(link("file", "hard"));
	expect(in, wd, IN_CREATE, "file");
	expect(in, wd, IN_CREATE | IN_ISDIR, "dir");
	expect(in, wd, IN_CREATE, "link");
	expect(in, wd, IN_CREATE, "fifo");
	expect(in, wd, IN_CREATE, "hard");

	CHECK_OK(unlink("file"));
	CHECK_OK(rmdir("dir"));
	CHECK_OK(unlink("link"));
	expect(in, wd, IN_DELETE, "file");
	expect(in, wd, IN_DELETE | IN_ISDIR, "dir");
	expect(in, wd, IN_DELETE, "link");

	// Events in subdirectories are not reported (watches are not
	// recursive), but the subdirectory's own creation is.
	CHECK_OK(mkdir("sub", 0755));
	make_file("sub/deep", 0644, NULL, 0);
	CHECK_OK(unlink("fifo"));
	expect(in, wd, IN_CREATE | IN_ISDIR, "sub");
	expect(in, wd, IN_DELETE, "fifo");
	CHECK_ERR(read(in, b, sizeof b), EAGAIN);
	// A buffer too small for the next event is EINVAL.
	make_file("another", 0644, NULL, 0);
	CHECK(wait_fd(in, POLLIN, 2000) & POLLIN);
	CHECK_ERR(read(in, b, 8), EINVAL);
	close(in);
	return 0;
}
