// fs_open_append: with O_APPEND every write goes to the current end of the
// file whatever the offset (and leaves the offset there), reads still use
// the offset, two descriptors appending interleave without overwriting, and
// F_SETFL can switch O_APPEND on and off.
//
//go:build ignore

#include "fs_check.h"

int main(void) {
	scratch_cd();
	make_file("f", 0644, "0123456789", 10);
	int fd = open("f", O_RDWR | O_APPEND);
	CHECK(fd >= 0);
	CHECK_EQ(lseek(fd, 0, SEEK_CUR), 0); // O_APPEND does not move the offset at open
	char buf[64];
	CHECK_EQ(read(fd, buf, 3), 3);
	CHECK_MEM(buf, "012", 3);
	CHECK_EQ(write(fd, "ab", 2), 2);
	CHECK_EQ(lseek(fd, 0, SEEK_CUR), 12);
	CHECK_EQ(lseek(fd, 2, SEEK_SET), 2);
	CHECK_EQ(write(fd, "cd", 2), 2);
	CHECK_EQ(lseek(fd, 0, SEEK_CUR), 14);
	CHECK_EQ(slurp("f", buf, sizeof buf), 14);
	CHECK_MEM(buf, "0123456789abcd", 14);

	// Another descriptor writes at its own offset; the appender still
	// appends after it.
	int w = open("f", O_WRONLY);
	CHECK(w >= 0);
	CHECK_EQ(pwrite(w, "XYZ", 3, 20), 3); // extends to 23, hole 14..19
	CHECK_EQ(write(fd, "!", 1), 1);
	CHECK_EQ(fsize("f"), 24);
	CHECK_EQ(slurp("f", buf, sizeof buf), 24);
	CHECK_FILL(buf + 14, 0, 6);
	CHECK_MEM(buf + 20, "XYZ!", 4);

	// F_SETFL: clear O_APPEND, writes use the offset again.
	CHECK_OK(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_APPEND));
	CHECK_EQ(fcntl(fd, F_GETFL) & O_APPEND, 0);
	CHECK_EQ(lseek(fd, 0, SEEK_SET), 0);
	CHECK_EQ(write(fd, "-", 1), 1);
	CHECK_EQ(fsize("f"), 24);
	CHECK_OK(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_APPEND));
	CHECK_EQ(write(fd, "+", 1), 1);
	CHECK_EQ(fsize("f"), 25);
	CHECK_EQ(slurp("f", buf, sizeof buf), 25);
	CHECK_EQ(buf[0], '-');
	CHECK_EQ(buf[24], '+');

	// Alternating appends from two descriptors never overwrite each other.
	int a2 = open("f", O_WRONLY | O_APPEND);
	CHECK(a2 >= 0);
	for (int i = 0; i < 10; i++) {
		CHECK_EQ(write(i % 2 ? a2 : fd, i % 2 ? "b" : "a", 1), 1);
	}
	CHECK_EQ(fsize("f"), 35);
	CHECK_EQ(slurp("f", buf, sizeof buf), 35);
	CHECK_MEM(buf + 25, "ababababab", 10);
	close(a2);
	close(w);
	close(fd);
	return 0;
}
