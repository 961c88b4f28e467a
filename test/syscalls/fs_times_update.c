// fs_times_update: write and truncate update a file's mtime and ctime;
// chmod, chown, link and rename update ctime only; creating or removing an
// entry updates the directory's mtime and ctime. (atime on read is not
// checked: relatime/noatime mounts legitimately differ.)
//
//go:build ignore

#include "fs_check.h"

#define OLD 1000000000

static void age(const char *p) {
	struct timespec t[2] = {{OLD, 0}, {OLD, 0}};
	CHECK_OK(utimensat(AT_FDCWD, p, t, 0));
}

static struct stat st_of(const char *p) {
	struct stat st;
	CHECK_OK(lstat(p, &st));
	return st;
}

// ctime cannot be set; remember it and check it moves forward (or stays
// equal on a coarse clock) while mtime is tested against OLD.
static int newer(struct timespec a, struct timespec b) {
	return a.tv_sec > b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec >= b.tv_nsec);
}

int main(void) {
	scratch_cd();
	make_file("f", 0644, "abc", 3);
	age("f");
	struct stat s0 = st_of("f");
	int fd = open("f", O_WRONLY);
	CHECK(fd >= 0);
	CHECK_EQ(write(fd, "x", 1), 1);
	struct stat s1 = st_of("f");
	CHECK(s1.st_mtime > OLD);
	CHECK(newer(s1.st_ctim, s0.st_ctim));
	CHECK_EQ(s1.st_atime, OLD);

	age("f");
	CHECK_OK(ftruncate(fd, 1));
	s1 = st_of("f");
	CHECK(s1.st_mtime > OLD);
	age("f");
	CHECK_OK(truncate("f", 100));
	CHECK(st_of("f").st_mtime > OLD);
	close(fd);

	// Metadata-only changes: ctime moves, mtime stays.
	age("f");
	s0 = st_of("f");
	CHECK_OK(chmod("f", 0600));
	s1 = st_of("f");
	CHECK_EQ(s1.st_mtime, OLD);
	CHECK(newer(s1.st_ctim, s0.st_ctim));
	CHECK_OK(link("f", "g"));
	CHECK_EQ(st_of("f").st_mtime, OLD);
	CHECK(newer(st_of("f").st_ctim, s1.st_ctim));
	CHECK_OK(rename("g", "h"));
	CHECK_EQ(st_of("h").st_mtime, OLD);

	// Directory times on entry changes.
	CHECK_OK(mkdir("d", 0755));
	age("d");
	make_file("d/new", 0644, NULL, 0);
	CHECK(st_of("d").st_mtime > OLD);
	age("d");
	CHECK_OK(unlink("d/new"));
	CHECK(st_of("d").st_mtime > OLD);
	age("d");
	CHECK_OK(mkdir("d/sub", 0755));
	CHECK(st_of("d").st_mtime > OLD);
	age("d");
	CHECK_OK(rename("h", "d/h"));
	CHECK(st_of("d").st_mtime > OLD);
	age("d");
	// Writing a file inside does not touch the directory.
	fd = open("d/h", O_WRONLY);
	CHECK(fd >= 0);
	CHECK_EQ(write(fd, "y", 1), 1);
	close(fd);
	CHECK_EQ(st_of("d").st_mtime, OLD);
	return 0;
}
