// close: closing frees the descriptor for reuse (lowest first); closing
// twice, a never-opened fd or a negative fd -> EBADF; every fd-taking call on
// a closed fd -> EBADF; writes to a read-only fd and reads from a pipe's
// write end -> EBADF.
//
//go:build ignore

#include "check.h"
#include <sys/uio.h>

int main(int argc, char **argv) {
	const char *small = fixture(argc, argv, "small.txt");
	int a = open(small, O_RDONLY);
	int b = open(small, O_RDONLY);
	int c = open(small, O_RDONLY);
	CHECK(a >= 3);
	CHECK_EQ(b, a + 1);
	CHECK_EQ(c, a + 2);
	CHECK_EQ(close(b), 0);
	CHECK_EQ(close(a), 0);
	CHECK_EQ(open(small, O_RDONLY), a); // lowest first
	CHECK_EQ(open(small, O_RDONLY), b);
	CHECK_EQ(open(small, O_RDONLY), c + 1);

	CHECK_EQ(close(c), 0);
	CHECK_ERR(close(c), EBADF);
	CHECK_ERR(close(-1), EBADF);
	CHECK_ERR(close(5000), EBADF);

	char buf[8];
	struct stat st;
	struct iovec iov = {buf, sizeof buf};
	CHECK_ERR(read(c, buf, 1), EBADF);
	CHECK_ERR(write(c, buf, 1), EBADF);
	CHECK_ERR(readv(c, &iov, 1), EBADF);
	CHECK_ERR(pread(c, buf, 1, 0), EBADF);
	CHECK_ERR(lseek(c, 0, SEEK_SET), EBADF);
	CHECK_ERR(fstat(c, &st), EBADF);
	CHECK_ERR(fcntl(c, F_GETFL), EBADF);
	CHECK_ERR(dup(c), EBADF);
	CHECK_ERR(fchdir(c), EBADF);
	CHECK_ERR(openat(c, "x", O_RDONLY), EBADF);

	// Wrong direction.
	CHECK_ERR(write(a, "x", 1), EBADF);
	CHECK_ERR(writev(a, &iov, 1), EBADF);
	int p[2];
	CHECK_EQ(pipe(p), 0);
	CHECK_ERR(read(p[1], buf, 1), EBADF);
	CHECK_ERR(write(p[0], "x", 1), EBADF);
	return 0;
}
