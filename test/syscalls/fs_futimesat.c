// fs_futimesat: the microsecond interfaces futimesat, utimes and utime set
// atime/mtime (microseconds become nanoseconds*1000); NULL means now;
// tv_usec out of [0, 1000000) is EINVAL; futimesat resolves against its
// dirfd.
//
//go:build ignore

#include "fs_check.h"
#include <sys/time.h>
#include <utime.h>

int main(void) {
	scratch();
	CHECK_OK(mkdir(spath("d"), 0755));
	make_file(spath("d/f"), 0644, NULL, 0);
	int d = open(spath("d"), O_RDONLY | O_DIRECTORY);
	CHECK(d >= 0);

	struct timeval tv[2] = {{1000, 5}, {2000, 999999}};
	CHECK_EQ(syscall(SYS_futimesat, d, "f", tv), 0);
	struct stat st;
	CHECK_OK(stat(spath("d/f"), &st));
	CHECK_EQ(st.st_atime, 1000);
	CHECK_EQ(st.st_atim.tv_nsec, 5000);
	CHECK_EQ(st.st_mtime, 2000);
	CHECK_EQ(st.st_mtim.tv_nsec, 999999000);

	struct timeval tv2[2] = {{3000, 0}, {4000, 0}};
	CHECK_OK(utimes(spath("d/f"), tv2));
	CHECK_OK(stat(spath("d/f"), &st));
	CHECK_EQ(st.st_atime, 3000);
	CHECK_EQ(st.st_mtime, 4000);
	CHECK_EQ(st.st_mtim.tv_nsec, 0);

	struct utimbuf ub = {5000, 6000};
	CHECK_OK(utime(spath("d/f"), &ub));
	CHECK_OK(stat(spath("d/f"), &st));
	CHECK_EQ(st.st_atime, 5000);
	CHECK_EQ(st.st_mtime, 6000);

	time_t now = time(NULL);
	CHECK_EQ(syscall(SYS_futimesat, d, "f", NULL), 0);
	CHECK_OK(stat(spath("d/f"), &st));
	CHECK(st.st_mtime >= now - 1);
	CHECK_OK(utime(spath("d/f"), NULL));

	struct timeval bad[2] = {{0, 1000000}, {0, 0}};
	CHECK_EQ(syscall(SYS_futimesat, d, "f", bad), -1);
	CHECK_EQ(errno, EINVAL);
	struct timeval bad2[2] = {{0, 0}, {0, -1}};
	CHECK_ERR(utimes(spath("d/f"), bad2), EINVAL);
	CHECK_EQ(syscall(SYS_futimesat, d, "missing", tv), -1);
	CHECK_EQ(errno, ENOENT);
	// Absolute name: dirfd ignored.
	CHECK_EQ(syscall(SYS_futimesat, -1, spath("d/f"), tv), 0);
	CHECK_OK(stat(spath("d/f"), &st));
	CHECK_EQ(st.st_atime, 1000);
	close(d);
	return 0;
}
