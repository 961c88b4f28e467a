// readv: readv scatters the file's bytes over the iovecs in order (skipping
// zero-length ones) and stops short at EOF; preadv reads at an offset
// without moving the file offset; iovcnt 0 -> 0; iovcnt > IOV_MAX or < 0 ->
// EINVAL; a bad iovec pointer -> EFAULT.
//
//go:build ignore

#include "check.h"
#include <limits.h>
#include <sys/uio.h>

int main(int argc, char **argv) {
	int fd = open(fixture(argc, argv, "small.txt"), O_RDONLY);
	CHECK(fd >= 0);
	char a[3], b[1], c[4], d[20];
	struct iovec iov[] = {
		{a, sizeof a}, {b, 0}, {c, sizeof c}, {NULL, 0}, {d, sizeof d},
	};
	CHECK_EQ(readv(fd, iov, 5), SMALL_LEN);
	CHECK_MEM(a, "hel", 3);
	CHECK_MEM(c, "lo, ", 4);
	CHECK_MEM(d, "cocoon\n", 7);
	CHECK_EQ(readv(fd, iov, 5), 0);
	CHECK_EQ(readv(fd, iov, 0), 0);

	// preadv at offset 7.
	memset(a, 0, sizeof a);
	CHECK_EQ(preadv(fd, iov, 3, 7), 7);
	CHECK_MEM(a, "coc", 3);
	CHECK_MEM(c, "oon\n", 4);
	CHECK_EQ(lseek(fd, 0, SEEK_CUR), SMALL_LEN);

	CHECK_EQ(lseek(fd, 0, SEEK_SET), 0);
	static struct iovec many[IOV_MAX + 1];
	static char one[IOV_MAX + 1];
	for (int i = 0; i <= IOV_MAX; i++)
		many[i] = (struct iovec){&one[i], 1};
	CHECK_ERR(readv(fd, many, IOV_MAX + 1), EINVAL);
	CHECK_ERR(readv(fd, many, opaque(-1)), EINVAL);
	CHECK_EQ(readv(fd, many, IOV_MAX), SMALL_LEN); // the maximum is fine
	CHECK_MEM(one, SMALL_TXT, SMALL_LEN);
	CHECK_EQ(lseek(fd, 0, SEEK_SET), 0);
	CHECK_ERR(readv(fd, bad_addr(), 1), EFAULT);
	CHECK_ERR(readv(99, iov, 1), EBADF);
	return 0;
}
