// fs_inotify_modify: a file watch reports IN_OPEN, IN_MODIFY for writes
// and truncation, IN_ATTRIB for chmod/utimes, IN_ACCESS for reads, and
// IN_CLOSE_WRITE / IN_CLOSE_NOWRITE depending on the access mode; the same
// events arrive on the parent directory's watch with the file name;
// identical consecutive events may be merged (so counts are not checked).
//
//go:build ignore

#include "fs_check.h"
#include <sys/inotify.h>

static char evbuf[8192] __attribute__((aligned(8)));

// drain collects the union of event masks for wd (and its last name) for
// up to 100 ms after the first event.
static uint32_t drain(int in, int wd, char *name) {
	uint32_t m = 0;
	int timeout = 2000;
	while (wait_fd(in, POLLIN, timeout) & POLLIN) {
		long n = read(in, evbuf, sizeof evbuf);
		CHECK(n > 0);
		for (long p = 0; p < n;) {
			struct inotify_event *e = (void *)(evbuf + p);
			p += sizeof *e + e->len;
			if (e->wd == wd) {
				m |= e->mask;
				if (name)
					strcpy(name, e->len ? e->name : "");
			}
		}
		timeout = 100;
	}
	return m;
}

int main(void) {
	scratch_cd();
	make_file("f", 0644, "data", 4);
	int in = inotify_init1(IN_NONBLOCK);
	CHECK(in >= 0);
	int fw = inotify_add_watch(in, "f", IN_ALL_EVENTS);
	CHECK(fw >= 0);

	int fd = open("f", O_WRONLY);
	CHECK(fd >= 0);
	CHECK_EQ(write(fd, "DA", 2), 2);
	CHECK_OK(close(fd));
	uint32_t m = drain(in, fw, NULL);
	CHECK_EQ(m & (IN_OPEN | IN_MODIFY | IN_CLOSE_WRITE), IN_OPEN | IN_MODIFY | IN_CLOSE_WRITE);
	CHECK_EQ(m & IN_CLOSE_NOWRITE, 0);

	int ro = open("f", O_RDONLY);
	char buf[8];
	CHECK_EQ(read(ro, buf, sizeof buf), 4);
	CHECK_OK(close(ro));
	m = drain(in, fw, NULL);
	CHECK_EQ(m & (IN_OPEN | IN_ACCESS | IN_CLOSE_NOWRITE), IN_OPEN | IN_ACCESS | IN_CLOSE_NOWRITE);
	CHECK_EQ(m & (IN_MODIFY | IN_CLOSE_WRITE), 0);

	CHECK_OK(chmod("f", 0600));
	m = drain(in, fw, NULL);
	CHECK_EQ(m & IN_ATTRIB, IN_ATTRIB);
	CHECK_OK(truncate("f", 1));
	m = drain(in, fw, NULL);
	CHECK_EQ(m & IN_MODIFY, IN_MODIFY);
	close(in);

	// Parent directory watch: names are reported.
	char name[64] = "";
	in = inotify_init1(IN_NONBLOCK);
	int dw = inotify_add_watch(in, ".", IN_MODIFY | IN_CLOSE_WRITE);
	CHECK(dw >= 0);
	fd = open("f", O_WRONLY);
	CHECK_EQ(write(fd, "x", 1), 1);
	close(fd);
	m = drain(in, dw, name);
	CHECK_EQ(m, IN_MODIFY | IN_CLOSE_WRITE);
	CHECK_EQ(strcmp(name, "f"), 0);
	close(in);
	return 0;
}
