// fs_mmap_truncate: a shared mapping follows size changes of its file:
// after ftruncate grows the file, the new part of the mapping reads zeros
// and stores there reach the file; after a shrink and regrow, the old data
// in the cut-off part is gone (zeros); the page containing EOF is mapped
// in full, its tail beyond EOF reads zeros and stores there do not change
// the file size.
//
//go:build ignore

#include "fs_check.h"

int main(void) {
	scratch_cd();
	long ps = page_size();
	int fd = open("f", O_RDWR | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0);
	CHECK_OK(ftruncate(fd, 100));
	char *m = mmap(NULL, 4 * ps, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(m != MAP_FAILED);
	CHECK_FILL(m, 0, ps); // the partial page: tail reads zeros
	m[200] = 'T'; // beyond EOF in the last page: not part of the file
	CHECK_EQ(fsize("f"), 100);
	char tail;
	CHECK_EQ(pread(fd, &tail, 1, 200), 0);

	// (Whether m[200] survives the file growing over it differs: ext4
	// zeroes the tail of the EOF page, tmpfs keeps it. Not checked.)
	CHECK_OK(ftruncate(fd, 3 * ps));
	CHECK_FILL(m + ps, 0, 2 * ps);
	m[2 * ps + 5] = 'G';
	char c;
	CHECK_EQ(pread(fd, &c, 1, 2 * ps + 5), 1);
	CHECK_EQ(c, 'G');

	// Shrink to one page, grow again: the old third page is zero.
	CHECK_OK(ftruncate(fd, ps));
	CHECK_OK(ftruncate(fd, 3 * ps));
	CHECK_EQ(m[2 * ps + 5], 0);
	CHECK_EQ(pread(fd, &c, 1, 2 * ps + 5), 1);
	CHECK_EQ(c, 0);

	// Partial-page shrink zeroes the tail of the page as seen by read.
	memset(m, 'x', ps);
	CHECK_OK(ftruncate(fd, 10));
	CHECK_OK(ftruncate(fd, ps));
	char buf[32];
	CHECK_EQ(pread(fd, buf, 20, 0), 20);
	CHECK_FILL(buf, 'x', 10);
	CHECK_FILL(buf + 10, 0, 10);
	CHECK_FILL(m + 10, 0, ps - 10);
	CHECK_OK(munmap(m, 4 * ps));
	close(fd);
	return 0;
}
