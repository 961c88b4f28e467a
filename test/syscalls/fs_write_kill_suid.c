// fs_write_kill_suid: a write (or truncate) by a process without
// CAP_FSETID clears S_ISUID (and S_ISGID with group-execute) of the file;
// a write by root keeps them. Needs root (the writer drops to 65534).
//
//go:build ignore

#include "fs_check.h"

static mode_t mode_of(const char *p) {
	struct stat st;
	CHECK_OK(stat(p, &st));
	return st.st_mode & 07777;
}

static void child(void *arg) {
	(void)arg;
	int fd = open(spath("w"), O_WRONLY);
	CHECK(fd >= 0);
	CHECK_EQ(mode_of(spath("w")), 06777); // opening alone changes nothing
	CHECK_EQ(write(fd, "x", 1), 1);
	CHECK_EQ(mode_of(spath("w")), 0777);
	close(fd);
	CHECK_OK(truncate(spath("t"), 10));
	CHECK_EQ(mode_of(spath("t")), 0777);
	// S_ISGID without group-exec, writer in the file's group: kept (newer
	// kernels also drop it for writers outside the group, older ones not).
	fd = open(spath("g"), O_WRONLY);
	CHECK(fd >= 0);
	CHECK_EQ(write(fd, "x", 1), 1);
	CHECK_EQ(mode_of(spath("g")), 02767);
	close(fd);
}

int main(void) {
	if (geteuid() != 0)
		return 0;
	scratch();
	make_file(spath("root"), 0777, NULL, 0);
	CHECK_OK(chmod(spath("root"), 06777));
	int fd = open(spath("root"), O_WRONLY);
	CHECK(fd >= 0);
	CHECK_EQ(write(fd, "root", 4), 4);
	CHECK_OK(ftruncate(fd, 1));
	close(fd);
	CHECK_EQ(mode_of(spath("root")), 06777);

	make_file(spath("w"), 0777, NULL, 0);
	CHECK_OK(chmod(spath("w"), 06777));
	make_file(spath("t"), 0777, NULL, 0);
	CHECK_OK(chmod(spath("t"), 06777));
	make_file(spath("g"), 0777, NULL, 0);
	CHECK_OK(chown(spath("g"), 0, NOBODY));
	CHECK_OK(chmod(spath("g"), 02767));
	as_nobody(child, NULL);
	CHECK_EQ(fsize(spath("t")), 10);
	return 0;
}
