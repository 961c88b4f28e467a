// fs_inotify_move: a rename within a watched directory yields IN_MOVED_FROM
// and IN_MOVED_TO with the same non-zero cookie; across two watched
// directories each watch gets its half with the same cookie; distinct
// renames get distinct cookies; a watched file that is moved gets
// IN_MOVE_SELF; IN_ISDIR marks directories.
//
//go:build ignore

#include "fs_check.h"
#include <sys/inotify.h>

static char evbuf[8192] __attribute__((aligned(8)));
static long evlen, evpos;

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

static uint32_t expect(int in, int wd, uint32_t mask, const char *name) {
	struct inotify_event *e = next_event(in);
	if (e->wd != wd || e->mask != mask || strcmp(e->len ? e->name : "", name))
		FAIL("event wd %d mask %#x name %s, want wd %d mask %#x name %s", e->wd, e->mask,
		     e->len ? e->name : "", wd, mask, name);
	return e->cookie;
}

int main(void) {
	scratch_cd();
	CHECK_OK(mkdir("a", 0755));
	CHECK_OK(mkdir("b", 0755));
	make_file("a/f", 0644, NULL, 0);
	make_file("a/g", 0644, NULL, 0);
	int in = inotify_init1(IN_NONBLOCK);
	CHECK(in >= 0);
	int wa = inotify_add_watch(in, "a", IN_MOVE);
	int wb = inotify_add_watch(in, "b", IN_MOVE);
	int wf = inotify_add_watch(in, "a/g", IN_MOVE_SELF);
	CHECK(wa >= 0 && wb >= 0 && wf >= 0);

	CHECK_OK(rename("a/f", "a/f2"));
	uint32_t c1 = expect(in, wa, IN_MOVED_FROM, "f");
	CHECK(c1 != 0);
	CHECK_EQ(expect(in, wa, IN_MOVED_TO, "f2"), c1);

	CHECK_OK(rename("a/f2", "b/f3"));
	uint32_t c2 = expect(in, wa, IN_MOVED_FROM, "f2");
	CHECK(c2 != 0 && c2 != c1);
	CHECK_EQ(expect(in, wb, IN_MOVED_TO, "f3"), c2);

	CHECK_OK(mkdir("a/d", 0755));
	CHECK_OK(rename("a/d", "b/d"));
	uint32_t c3 = expect(in, wa, IN_MOVED_FROM | IN_ISDIR, "d");
	CHECK_EQ(expect(in, wb, IN_MOVED_TO | IN_ISDIR, "d"), c3);
	CHECK(c3 != c2);

	// The watched file itself moves: MOVED_FROM on a, MOVED_TO on b,
	// then IN_MOVE_SELF on the file watch.
	CHECK_OK(rename("a/g", "b/g"));
	uint32_t c4 = expect(in, wa, IN_MOVED_FROM, "g");
	CHECK_EQ(expect(in, wb, IN_MOVED_TO, "g"), c4);
	expect(in, wf, IN_MOVE_SELF, "");

	// Moving out of the watched tree: only the FROM half.
	CHECK_OK(rename("b/f3", "outside"));
	expect(in, wb, IN_MOVED_FROM, "f3");
	char tmp[64];
	CHECK_ERR(read(in, tmp, sizeof tmp), EAGAIN);
	close(in);
	return 0;
}
