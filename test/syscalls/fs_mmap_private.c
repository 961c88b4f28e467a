// fs_mmap_private: a MAP_PRIVATE mapping of a file sees the file's current
// data (including later writes) in pages it has not stored to; once a page
// is written it becomes a private copy: the file is unchanged and later
// writes to the file no longer show in that page (other pages still track
// the file).
//
//go:build ignore

#include "fs_check.h"

int main(void) {
	scratch_cd();
	long ps = page_size();
	int fd = open("f", O_RDWR | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0);
	CHECK_OK(ftruncate(fd, 2 * ps));
	CHECK_EQ(pwrite(fd, "orig", 4, 0), 4);
	volatile char *p = mmap(NULL, 2 * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	CHECK(p != MAP_FAILED);
	CHECK_EQ(p[0], 'o');

	// Not yet written: tracks the file (Linux keeps the shared page
	// until the first store).
	CHECK_EQ(pwrite(fd, "new!", 4, 0), 4);
	CHECK_EQ(p[0], 'n');

	// Store: private copy from now on.
	p[1] = 'X';
	char buf[4];
	CHECK_EQ(pread(fd, buf, 4, 0), 4);
	CHECK_MEM(buf, "new!", 4);
	CHECK_EQ(pwrite(fd, "late", 4, 0), 4);
	CHECK_EQ(p[0], 'n');
	CHECK_EQ(p[1], 'X');
	CHECK_EQ(p[2], 'w');

	// The second page was never stored to: still tracks the file.
	CHECK_EQ(pwrite(fd, "page2", 5, ps), 5);
	CHECK_EQ(p[ps], 'p');
	CHECK_EQ(p[ps + 4], '2');

	// msync of a private mapping does not write it back.
	CHECK_OK(msync((void *)p, 2 * ps, MS_SYNC));
	CHECK_EQ(pread(fd, buf, 4, 0), 4);
	CHECK_MEM(buf, "late", 4);

	// A read-only fd can be mapped private and writable.
	int ro = open("f", O_RDONLY);
	CHECK(ro >= 0);
	char *q = mmap(NULL, ps, PROT_READ | PROT_WRITE, MAP_PRIVATE, ro, 0);
	CHECK(q != MAP_FAILED);
	q[0] = 'Q';
	CHECK(mmap(NULL, ps, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0) == MAP_FAILED);
	CHECK_EQ(errno, EACCES);
	CHECK_OK(munmap(q, ps));
	CHECK_OK(munmap((void *)p, 2 * ps));
	close(ro);
	close(fd);
	return 0;
}
