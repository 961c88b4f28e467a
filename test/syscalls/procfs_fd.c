// procfs_fd: /proc/self/fd lists exactly the open descriptors; each entry is
// a symlink to the file's path, or "pipe:[N]" with the same N for both ends
// of a pipe; opening the entry reopens the file; a closed descriptor's entry
// disappears; /proc/self/fdinfo/N shows pos (the offset) and flags (octal,
// with O_CLOEXEC as 02000000 and the access mode).
//
//go:build ignore

#include "procfs_check.h"
#include <dirent.h>
#include <limits.h>

static int listed(int fd) {
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		FAIL("opendir /proc/self/fd (errno %d %s)", errno, errname(errno));
	int found = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.' && atoi(e->d_name) == fd)
			found = 1;
	closedir(d);
	return found;
}

int main(int argc, char **argv) {
	const char *small = fixture(argc, argv, "small.txt");
	int f = open(small, O_RDONLY | O_CLOEXEC);
	CHECK(f >= 0);
	int p[2];
	CHECK_OK(pipe(p));
	char path[64], link[PATH_MAX], real[PATH_MAX];

	snprintf(path, sizeof path, "/proc/self/fd/%d", f);
	ssize_t n = readlink(path, link, sizeof link - 1);
	CHECK(n > 0);
	link[n] = 0;
	CHECK(realpath(small, real) != NULL);
	CHECK(strcmp(link, real) == 0);
	int again = open(path, O_RDONLY); // reopens the file
	CHECK(again >= 0);
	char b[6] = {0};
	CHECK_EQ(read(again, b, 5), 5);
	CHECK(strcmp(b, "hello") == 0);
	close(again);

	char l0[64], l1[64];
	snprintf(path, sizeof path, "/proc/self/fd/%d", p[0]);
	n = readlink(path, l0, sizeof l0 - 1);
	CHECK(n > 0);
	l0[n] = 0;
	snprintf(path, sizeof path, "/proc/self/fd/%d", p[1]);
	n = readlink(path, l1, sizeof l1 - 1);
	CHECK(n > 0);
	l1[n] = 0;
	CHECK(strncmp(l0, "pipe:[", 6) == 0);
	CHECK(strcmp(l0, l1) == 0);

	CHECK(listed(0) && listed(1) && listed(2) && listed(f) && listed(p[0]) && listed(p[1]));
	CHECK(!listed(100));
	CHECK_EQ(dup2(p[1], 100), 100);
	CHECK(listed(100));
	CHECK_OK(close(100));
	CHECK(!listed(100)); // (a low number would be reused by opendir)
	CHECK_ERR(readlink("/proc/self/fd/100", link, sizeof link), ENOENT);

	CHECK_EQ(lseek(f, 7, SEEK_SET), 7);
	char info[1024], v[64];
	snprintf(path, sizeof path, "/proc/self/fdinfo/%d", f);
	READ_PROC(path, info);
	CHECK_EQ(atoll(status_field(info, "pos", v, sizeof v)), 7);
	long flags = strtol(status_field(info, "flags", v, sizeof v), NULL, 8);
	CHECK(flags & O_CLOEXEC);
	CHECK_EQ(flags & O_ACCMODE, O_RDONLY);
	snprintf(path, sizeof path, "/proc/self/fdinfo/%d", p[0]);
	READ_PROC(path, info);
	flags = strtol(status_field(info, "flags", v, sizeof v), NULL, 8);
	CHECK(!(flags & O_CLOEXEC));
	return 0;
}
