// fs_mmap_coherent: a MAP_SHARED mapping of a regular file and read()/
// write() see the same page cache: write() is visible through the mapping at
// once, stores through the mapping are visible to read() at once (no msync
// needed), across two separate mappings and two separate descriptors.
//
//go:build ignore

#include "fs_check.h"

int main(void) {
	scratch_cd();
	long ps = page_size();
	int fd = open("f", O_RDWR | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0);
	CHECK_OK(ftruncate(fd, 3 * ps));
	volatile char *m = mmap(NULL, 3 * ps, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(m != MAP_FAILED);
	CHECK_EQ(m[0], 0);

	CHECK_EQ(pwrite(fd, "written", 7, ps + 10), 7);
	CHECK_EQ(m[ps + 10], 'w');
	CHECK_EQ(m[ps + 16], 'n');

	memcpy((char *)m + 2 * ps, "stored", 6);
	char buf[8];
	CHECK_EQ(pread(fd, buf, 6, 2 * ps), 6);
	CHECK_MEM(buf, "stored", 6);

	// Another descriptor and another mapping of the same file.
	int fd2 = open("f", O_RDWR);
	CHECK(fd2 >= 0);
	volatile char *m2 = mmap(NULL, ps, PROT_READ | PROT_WRITE, MAP_SHARED, fd2, 2 * ps);
	CHECK(m2 != MAP_FAILED);
	CHECK_EQ(m2[0], 's');
	m2[1] = 'T';
	CHECK_EQ(m[2 * ps + 1], 'T');
	CHECK_EQ(pread(fd2, buf, 2, 2 * ps), 2);
	CHECK_MEM(buf, "sT", 2);

	// write() through the fd offset lands in the mapping too.
	CHECK_EQ(lseek(fd, 0, SEEK_SET), 0);
	for (int i = 0; i < 100; i++)
		CHECK_EQ(write(fd, "ab", 2), 2);
	for (int i = 0; i < 200; i++)
		CHECK_EQ(m[i], i % 2 ? 'b' : 'a');

	// After munmap the data stays in the file.
	CHECK_OK(munmap((void *)m, 3 * ps));
	CHECK_OK(munmap((void *)m2, ps));
	close(fd);
	CHECK_EQ(pread(fd2, buf, 6, 2 * ps), 6);
	CHECK_MEM(buf, "sTored", 6);
	close(fd2);
	return 0;
}
