// fs_mmap_msync: stores through a shared file mapping reach the file with
// msync(MS_SYNC) or MS_ASYNC (and are visible to read() anyway); msync
// needs a page-aligned address (EINVAL), valid flags (MS_SYNC|MS_ASYNC is
// EINVAL) and a mapped range (ENOMEM); data written through a mapping
// survives munmap and close and a reopen.
//
//go:build ignore

#include "fs_check.h"

int main(void) {
	scratch_cd();
	long ps = page_size();
	int fd = open("f", O_RDWR | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0);
	CHECK_OK(ftruncate(fd, 2 * ps));
	char *m = mmap(NULL, 2 * ps, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(m != MAP_FAILED);
	memcpy(m, "synced", 6);
	CHECK_OK(msync(m, ps, MS_SYNC));
	memcpy(m + ps, "async", 5);
	CHECK_OK(msync(m + ps, ps, MS_ASYNC));
	CHECK_OK(msync(m, 2 * ps, MS_INVALIDATE));
	CHECK_OK(msync(m, 0, MS_SYNC));
	CHECK_OK(msync(m, 10, MS_SYNC)); // length is rounded up

	CHECK_ERR(msync(m + 1, ps, MS_SYNC), EINVAL);
	CHECK_ERR(msync(m, ps, MS_SYNC | MS_ASYNC), EINVAL);
	CHECK_ERR(msync(m, ps, 0x100), EINVAL);
	CHECK_OK(munmap(m + ps, ps));
	CHECK_ERR(msync(m, 2 * ps, MS_SYNC), ENOMEM);
	CHECK_OK(munmap(m, ps));
	close(fd);

	char buf[8];
	fd = open("f", O_RDONLY);
	CHECK(fd >= 0);
	CHECK_EQ(pread(fd, buf, 6, 0), 6);
	CHECK_MEM(buf, "synced", 6);
	CHECK_EQ(pread(fd, buf, 5, ps), 5);
	CHECK_MEM(buf, "async", 5);
	close(fd);
	return 0;
}
