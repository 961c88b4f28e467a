// fs_perm_open: as uid 65534, opening a root-owned 0600 file for reading or
// writing is EACCES, a 0644 file can be read but not written (EACCES, also
// with O_TRUNC), a 0200 file can be written but not read; group and other
// bits apply by membership; root bypasses read/write bits. Needs root.
//
//go:build ignore

#include "fs_check.h"

static void child(void *arg) {
	(void)arg;
	CHECK_ERR(open(spath("p600"), O_RDONLY), EACCES);
	CHECK_ERR(open(spath("p600"), O_WRONLY), EACCES);
	int fd = open(spath("p644"), O_RDONLY);
	CHECK(fd >= 0);
	close(fd);
	CHECK_ERR(open(spath("p644"), O_WRONLY), EACCES);
	CHECK_ERR(open(spath("p644"), O_RDONLY | O_TRUNC), EACCES);
	CHECK_ERR(open(spath("p644"), O_RDWR), EACCES);
	fd = open(spath("p602"), O_WRONLY);
	CHECK(fd >= 0);
	CHECK_EQ(write(fd, "w", 1), 1);
	close(fd);
	CHECK_ERR(open(spath("p602"), O_RDONLY), EACCES);
	// Group bits: nobody is in group 65534.
	fd = open(spath("g640"), O_RDONLY);
	CHECK(fd >= 0);
	close(fd);
	CHECK_ERR(open(spath("g640"), O_WRONLY), EACCES);
	// Owner bits win even when they are stricter than "other".
	CHECK_ERR(open(spath("own077"), O_RDONLY), EACCES);
	// O_CREAT of an existing file checks permissions of the file.
	CHECK_ERR(open(spath("p644"), O_WRONLY | O_CREAT, 0666), EACCES);
	// O_PATH needs no permission on the file itself.
	fd = open(spath("p600"), O_PATH);
	CHECK(fd >= 0);
	close(fd);
}

int main(void) {
	if (geteuid() != 0)
		return 0;
	scratch();
	make_file(spath("p600"), 0600, "secret", 6);
	make_file(spath("p644"), 0644, "public", 6);
	make_file(spath("p602"), 0602, NULL, 0);
	make_file(spath("g640"), 0640, NULL, 0);
	CHECK_OK(chown(spath("g640"), 0, NOBODY));
	make_file(spath("own077"), 0077, NULL, 0);
	CHECK_OK(chown(spath("own077"), NOBODY, 0));
	as_nobody(child, NULL);
	CHECK_EQ(fsize(spath("p602")), 1);
	CHECK_EQ(fsize(spath("p644")), 6);

	// Root: read/write bits do not matter.
	make_file(spath("none"), 0000, "x", 1);
	int fd = open(spath("none"), O_RDWR);
	CHECK(fd >= 0);
	close(fd);
	return 0;
}
