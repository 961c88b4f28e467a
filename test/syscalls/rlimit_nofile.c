// rlimit_nofile: a lowered RLIMIT_NOFILE soft limit is enforced: dup fills
// descriptors 0..limit-1 and then fails with EMFILE, dup2/F_DUPFD targets at
// or above the limit -> EBADF/EINVAL, and closing one makes room again.
//
//go:build ignore

#include "check.h"
#include <sys/resource.h>

int main(void) {
	enum { LIMIT = 32 };
	struct rlimit r;
	CHECK_EQ(getrlimit(RLIMIT_NOFILE, &r), 0);
	if (r.rlim_cur < LIMIT)
		FAIL("RLIMIT_NOFILE soft limit %lu is already below %d", (unsigned long)r.rlim_cur, LIMIT);
	r.rlim_cur = LIMIT;
	CHECK_EQ(setrlimit(RLIMIT_NOFILE, &r), 0);

	int last = -1;
	for (int i = 0; i < 4 * LIMIT; i++) {
		int fd = dup(0);
		if (fd < 0) {
			CHECK_EQ(errno, EMFILE);
			break;
		}
		last = fd;
	}
	CHECK_EQ(last, LIMIT - 1);
	CHECK_ERR(dup(0), EMFILE);
	CHECK_ERR(open("/dev/null", O_RDONLY), EMFILE);
	int p[2];
	CHECK_ERR(pipe(p), EMFILE);

	CHECK_ERR(dup2(0, LIMIT), EBADF);
	CHECK_ERR(dup3(0, LIMIT + 5, 0), EBADF);
	CHECK_ERR(fcntl(0, F_DUPFD, LIMIT), EINVAL);
	CHECK_EQ(dup2(0, LIMIT - 1), LIMIT - 1); // replacing an open fd is fine

	CHECK_EQ(close(10), 0);
	CHECK_EQ(open("/dev/null", O_RDONLY), 10);
	CHECK_EQ(close(20), 0);
	CHECK_EQ(close(21), 0);
	CHECK_EQ(pipe(p), 0);
	CHECK_EQ(p[0], 20);
	CHECK_EQ(p[1], 21);
	return 0;
}
