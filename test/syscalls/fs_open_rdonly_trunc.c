// fs_open_rdonly_trunc: open(path, O_RDONLY|O_TRUNC) on a regular file
// truncates it, as Linux's handle_truncate does whatever the access mode:
// O_TRUNC adds MAY_WRITE to the permission check, so a caller that may not
// write the file gets EACCES and the file keeps its data. The descriptor
// itself stays read-only (write is EBADF), and the truncation updates
// mtime.
//
//go:build ignore

#include "fs_check.h"

static void denied(void *arg) {
	(void)arg;
	// World-readable but not writable by nobody: EACCES, data kept.
	CHECK_ERR(open(spath("ro"), O_RDONLY | O_TRUNC), EACCES);
	CHECK_EQ(fsize(spath("ro")), 5);
	// nobody owns "mine" but has only read permission on it.
	CHECK_ERR(open(spath("mine"), O_RDONLY | O_TRUNC), EACCES);
	CHECK_EQ(fsize(spath("mine")), 4);
	// Write permission through the group bits is enough.
	int fd = open(spath("grp"), O_RDONLY | O_TRUNC);
	CHECK(fd >= 0);
	CHECK_EQ(fsize(spath("grp")), 0);
	CHECK_OK(close(fd));
}

int main(void) {
	scratch_cd();
	make_file("f", 0644, "hello world", 11);
	struct timespec old[2] = {{1000, 0}, {1000, 0}};
	CHECK_OK(utimensat(AT_FDCWD, "f", old, 0));

	int fd = open("f", O_RDONLY | O_TRUNC);
	CHECK(fd >= 0);
	struct stat st;
	CHECK_OK(fstat(fd, &st));
	CHECK_EQ(st.st_size, 0);
	CHECK(st.st_mtime > 1000);
	char buf[16];
	CHECK_EQ(read(fd, buf, sizeof buf), 0);
	CHECK_ERR(write(fd, "x", 1), EBADF);
	CHECK_OK(close(fd));
	CHECK_EQ(fsize("f"), 0);

	// Another descriptor open for reading sees the file empty too.
	make_file("g", 0644, "abcdef", 6);
	int r = open("g", O_RDONLY);
	CHECK(r >= 0);
	fd = open("g", O_RDONLY | O_TRUNC);
	CHECK(fd >= 0);
	CHECK_EQ(pread(r, buf, sizeof buf, 0), 0);
	CHECK_OK(close(fd));
	CHECK_OK(close(r));

	// O_RDONLY without O_TRUNC leaves the data alone.
	make_file("h", 0644, "abc", 3);
	fd = open("h", O_RDONLY);
	CHECK(fd >= 0);
	CHECK_OK(close(fd));
	CHECK_EQ(fsize("h"), 3);

	if (geteuid() != 0)
		return 0;
	// Root may write a read-only file, so it truncates it.
	make_file("r", 0444, "data", 4);
	fd = open("r", O_RDONLY | O_TRUNC);
	CHECK(fd >= 0);
	CHECK_OK(close(fd));
	CHECK_EQ(fsize("r"), 0);

	make_file("ro", 0644, "hello", 5);
	make_file("mine", 0444, "mine", 4);
	CHECK_OK(chown("mine", NOBODY, NOBODY));
	make_file("grp", 0664, "group", 5);
	CHECK_OK(chown("grp", 0, NOBODY));
	as_nobody(denied, NULL);
	return 0;
}
