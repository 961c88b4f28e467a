// fs_seek_hole: on a sparse file (data, a big hole, data), SEEK_DATA and
// SEEK_HOLE satisfy the relations every file system must meet: SEEK_DATA
// from a data offset returns it, SEEK_HOLE returns an offset in
// [offset, size] (size itself for file systems that do not track holes),
// the virtual hole at EOF exists, and offsets at or past EOF are ENXIO.
// Where holes are tracked (ext4, tmpfs) SEEK_DATA from inside the hole
// lands on the second data block and SEEK_HOLE after the first block lands
// inside the hole; "not tracked" (offset returned unchanged) is accepted.
//
//go:build ignore

#include "fs_check.h"

#define MB (1 << 20)

int main(void) {
	scratch_cd();
	int fd = open("f", O_RDWR | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0);
	static char blk[65536];
	memset(blk, 'd', sizeof blk);
	CHECK_EQ(pwrite(fd, blk, sizeof blk, 0), (ssize_t)sizeof blk);
	CHECK_EQ(pwrite(fd, blk, sizeof blk, 4 * MB), (ssize_t)sizeof blk);
	CHECK_OK(fsync(fd));
	off_t size = 4 * MB + sizeof blk;

	CHECK_EQ(lseek(fd, 0, SEEK_DATA), 0);
	CHECK_EQ(lseek(fd, 100, SEEK_DATA), 100);
	off_t h = lseek(fd, 0, SEEK_HOLE);
	CHECK(h >= (off_t)sizeof blk && h <= size);
	CHECK_EQ(lseek(fd, 0, SEEK_CUR), h); // lseek moves the offset

	off_t d = lseek(fd, 2 * MB, SEEK_DATA);
	CHECK(d == 2 * MB || d == 4 * MB); // untracked or tracked
	if (h < size) {
		// Holes are tracked: the hole runs up to the second block.
		CHECK(h < 4 * MB);
		CHECK_EQ(d, 4 * MB);
		CHECK_EQ(lseek(fd, 2 * MB, SEEK_HOLE), 2 * MB);
	}
	CHECK_EQ(lseek(fd, 4 * MB + 10, SEEK_DATA), 4 * MB + 10);
	CHECK_EQ(lseek(fd, 4 * MB, SEEK_HOLE), size); // the hole at EOF

	CHECK_ERR(lseek(fd, size, SEEK_DATA), ENXIO);
	CHECK_ERR(lseek(fd, size, SEEK_HOLE), ENXIO);
	CHECK_ERR(lseek(fd, size + 100, SEEK_HOLE), ENXIO);
	CHECK_ERR(lseek(fd, -1, SEEK_DATA), ENXIO);

	// A trailing hole from ftruncate: no data after the last block.
	CHECK_OK(ftruncate(fd, 16 * MB));
	d = lseek(fd, 8 * MB, SEEK_DATA);
	if (d < 0)
		CHECK_EQ(errno, ENXIO); // tracked: no more data
	else
		CHECK_EQ(d, 8 * MB);
	h = lseek(fd, 15 * MB, SEEK_HOLE);
	CHECK(h == 15 * MB || h == 16 * MB); // tracked, or the hole at EOF only
	if (d < 0)
		CHECK_EQ(h, 15 * MB);

	// An empty file: everything is ENXIO.
	int e = open("empty", O_RDWR | O_CREAT, 0644);
	CHECK(e >= 0);
	CHECK_ERR(lseek(e, 0, SEEK_DATA), ENXIO);
	CHECK_ERR(lseek(e, 0, SEEK_HOLE), ENXIO);
	close(e);
	close(fd);
	return 0;
}
