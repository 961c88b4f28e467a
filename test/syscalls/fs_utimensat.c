// fs_utimensat: utimensat sets atime and mtime to the given values
// (nanoseconds kept), UTIME_NOW uses the current time, UTIME_OMIT leaves a
// value alone, NULL sets both to now; every change except an all-OMIT one
// updates ctime; futimens works on an fd; an out-of-range tv_nsec is EINVAL.
//
//go:build ignore

#include "fs_check.h"

static struct stat st_of(const char *p) {
	struct stat st;
	CHECK_OK(stat(p, &st));
	return st;
}

int main(void) {
	scratch_cd();
	make_file("f", 0644, NULL, 0);
	struct timespec t[2] = {{1000000000, 123456789}, {1500000000, 987654321}};
	CHECK_OK(utimensat(AT_FDCWD, "f", t, 0));
	struct stat st = st_of("f");
	CHECK_EQ(st.st_atim.tv_sec, 1000000000);
	CHECK_EQ(st.st_atim.tv_nsec, 123456789);
	CHECK_EQ(st.st_mtim.tv_sec, 1500000000);
	CHECK_EQ(st.st_mtim.tv_nsec, 987654321);

	// UTIME_OMIT for atime, a new mtime.
	struct timespec t2[2] = {{0, UTIME_OMIT}, {42, 0}};
	CHECK_OK(utimensat(AT_FDCWD, "f", t2, 0));
	st = st_of("f");
	CHECK_EQ(st.st_atim.tv_sec, 1000000000);
	CHECK_EQ(st.st_mtim.tv_sec, 42);

	// UTIME_NOW: between two clock readings (coarse clocks: allow 1 s).
	time_t before = time(NULL);
	struct timespec t3[2] = {{0, UTIME_NOW}, {0, UTIME_OMIT}};
	CHECK_OK(utimensat(AT_FDCWD, "f", t3, 0));
	time_t after = time(NULL);
	st = st_of("f");
	CHECK(st.st_atime >= before - 1 && st.st_atime <= after + 1);
	CHECK_EQ(st.st_mtime, 42);
	CHECK(st.st_ctime >= before - 1);

	// Both OMIT: nothing changes, not even ctime.
	struct timespec old_c = st.st_ctim;
	struct timespec t4[2] = {{0, UTIME_OMIT}, {0, UTIME_OMIT}};
	CHECK_OK(utimensat(AT_FDCWD, "f", t4, 0));
	st = st_of("f");
	CHECK_EQ(st.st_ctim.tv_sec, old_c.tv_sec);
	CHECK_EQ(st.st_ctim.tv_nsec, old_c.tv_nsec);

	// NULL: both now.
	CHECK_OK(utimensat(AT_FDCWD, "f", NULL, 0));
	st = st_of("f");
	CHECK(st.st_atime >= before - 1 && st.st_mtime >= before - 1);

	// Negative and pre-epoch times are representable.
	struct timespec t5[2] = {{-1, 0}, {0, 0}};
	CHECK_OK(utimensat(AT_FDCWD, "f", t5, 0));
	st = st_of("f");
	CHECK_EQ(st.st_atime, -1);
	CHECK_EQ(st.st_mtime, 0);

	// futimens on an fd (read-only is fine for the owner).
	int fd = open("f", O_RDONLY);
	CHECK(fd >= 0);
	struct timespec t6[2] = {{7, 7}, {8, 8}};
	CHECK_OK(futimens(fd, t6));
	st = st_of("f");
	CHECK(st.st_atime == 7 && st.st_mtime == 8 && st.st_mtim.tv_nsec == 8);

	struct timespec bad[2] = {{0, 1000000000}, {0, 0}};
	CHECK_ERR(utimensat(AT_FDCWD, "f", bad, 0), EINVAL);
	struct timespec bad2[2] = {{0, 0}, {0, -5}};
	CHECK_ERR(futimens(fd, bad2), EINVAL);
	CHECK_ERR(utimensat(AT_FDCWD, "f", t, 0x4000000), EINVAL);
	CHECK_ERR(utimensat(AT_FDCWD, "missing", t, 0), ENOENT);
	close(fd);
	return 0;
}
