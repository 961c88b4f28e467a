// msync: MS_SYNC/MS_ASYNC/MS_INVALIDATE succeed on mapped anonymous and
// private file memory; MS_SYNC|MS_ASYNC, unknown flags and unaligned
// addresses -> EINVAL; unmapped ranges -> ENOMEM.
//
//go:build ignore

#include "check.h"

int main(int argc, char **argv) {
	long ps = page_size();
	unsigned char *p = mmap(NULL, 2 * ps, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(p != MAP_FAILED);
	p[0] = 1;
	CHECK_EQ(msync(p, 2 * ps, MS_SYNC), 0);
	CHECK_EQ(msync(p, 2 * ps, MS_ASYNC), 0);
	CHECK_EQ(msync(p, 2 * ps, MS_INVALIDATE), 0);
	CHECK_EQ(msync(p, ps + 1, MS_SYNC), 0);
	CHECK_EQ(msync(p, 0, MS_SYNC), 0);
	CHECK_EQ(p[0], 1);

	int fd = open(fixture(argc, argv, "small.txt"), O_RDONLY);
	CHECK(fd >= 0);
	char *f = mmap(NULL, ps, PROT_READ, MAP_PRIVATE, fd, 0);
	CHECK(f != MAP_FAILED);
	CHECK_EQ(msync(f, ps, MS_SYNC), 0);
	CHECK_MEM(f, SMALL_TXT, SMALL_LEN);

	CHECK_ERR(msync(p, ps, MS_SYNC | MS_ASYNC), EINVAL);
	CHECK_ERR(msync(p, ps, 0x100), EINVAL);
	CHECK_ERR(msync(p + 1, ps, MS_SYNC), EINVAL);
	CHECK_EQ(munmap(p + ps, ps), 0);
	CHECK_ERR(msync(p + ps, ps, MS_SYNC), ENOMEM);
	CHECK_ERR(msync(p, 2 * ps, MS_ASYNC), ENOMEM);
	return 0;
}
