// fs_preadv2: preadv2/pwritev2 with offset -1 use and advance the file
// offset, with an explicit offset leave it alone; RWF_APPEND appends even
// without O_APPEND; unknown RWF flags are EOPNOTSUPP; offsets below -1 are
// EINVAL; RWF_HIPRI, RWF_DSYNC and RWF_SYNC are accepted on regular files.
//
//go:build ignore

#include "fs_check.h"

int main(void) {
	scratch_cd();
	int fd = open("f", O_RDWR | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0);
	struct iovec w[2] = {{"hello ", 6}, {"world", 5}};
	CHECK_EQ(pwritev2(fd, w, 2, -1, 0), 11);
	CHECK_EQ(lseek(fd, 0, SEEK_CUR), 11);
	CHECK_EQ(pwritev2(fd, w, 1, 100, 0), 6);
	CHECK_EQ(lseek(fd, 0, SEEK_CUR), 11);
	CHECK_EQ(fsize("f"), 106);

	char a[4], b[8];
	struct iovec r[2] = {{a, 4}, {b, 8}};
	CHECK_EQ(lseek(fd, 0, SEEK_SET), 0);
	CHECK_EQ(preadv2(fd, r, 2, -1, 0), 12);
	CHECK_MEM(a, "hell", 4);
	CHECK_MEM(b, "o world\0", 8);
	CHECK_EQ(lseek(fd, 0, SEEK_CUR), 12);
	CHECK_EQ(preadv2(fd, r, 1, 100, 0), 4);
	CHECK_MEM(a, "hell", 4);
	CHECK_EQ(lseek(fd, 0, SEEK_CUR), 12);

	// RWF_APPEND writes at the end regardless of offsets.
	struct iovec t = {"TAIL", 4};
	CHECK_EQ(pwritev2(fd, &t, 1, 0, RWF_APPEND), 4);
	CHECK_EQ(fsize("f"), 110);
	CHECK_EQ(pread(fd, a, 4, 106), 4);
	CHECK_MEM(a, "TAIL", 4);
	CHECK_EQ(pread(fd, a, 4, 0), 4);
	CHECK_MEM(a, "hell", 4);

	CHECK_EQ(pwritev2(fd, &t, 1, 0, RWF_DSYNC), 4);
	CHECK_EQ(pwritev2(fd, &t, 1, 0, RWF_SYNC), 4);
	CHECK_EQ(preadv2(fd, r, 1, 0, RWF_HIPRI), 4);
	CHECK_MEM(a, "TAIL", 4);

	CHECK_ERR(preadv2(fd, r, 1, 0, 0x80000000), EOPNOTSUPP);
	CHECK_ERR(pwritev2(fd, &t, 1, 0, 0x40000000), EOPNOTSUPP);
	CHECK_ERR(preadv2(fd, r, 1, -2, 0), EINVAL);
	CHECK_ERR(pwritev2(fd, &t, 1, -5, 0), EINVAL);
	// Pipes: only offset -1 is valid.
	int p[2];
	CHECK_OK(pipe(p));
	CHECK_EQ(pwritev2(p[1], &t, 1, -1, 0), 4);
	CHECK_EQ(preadv2(p[0], r, 1, -1, 0), 4);
	CHECK_ERR(preadv2(p[0], r, 1, 0, 0), ESPIPE);
	close(p[0]);
	close(p[1]);
	close(fd);
	return 0;
}
