// fs_tee: tee duplicates up to len bytes from one pipe into another
// without consuming them, so both can be read (and the copy spliced into a
// file); an empty source with SPLICE_F_NONBLOCK is EAGAIN; non-pipes and
// the same pipe on both sides are EINVAL.
//
//go:build ignore

#include "fs_check.h"

int main(void) {
	scratch_cd();
	int a[2], b[2];
	CHECK_OK(pipe(a));
	CHECK_OK(pipe(b));
	CHECK_EQ(write(a[1], "hello tee", 9), 9);
	CHECK_EQ(tee(a[0], b[1], 5, 0), 5);
	char buf[32];
	CHECK_EQ(read(b[0], buf, sizeof buf), 5);
	CHECK_MEM(buf, "hello", 5);
	// Still all in a.
	CHECK_EQ(tee(a[0], b[1], 100, 0), 9);
	int out = open("f", O_RDWR | O_CREAT | O_TRUNC, 0644);
	CHECK(out >= 0);
	CHECK_EQ(splice(b[0], NULL, out, NULL, 100, 0), 9);
	CHECK_EQ(pread(out, buf, sizeof buf, 0), 9);
	CHECK_MEM(buf, "hello tee", 9);
	CHECK_EQ(read(a[0], buf, sizeof buf), 9);
	CHECK_MEM(buf, "hello tee", 9);

	CHECK_ERR(tee(a[0], b[1], 10, SPLICE_F_NONBLOCK), EAGAIN);
	CHECK_EQ(write(a[1], "x", 1), 1);
	CHECK_ERR(tee(a[0], a[1], 10, 0), EINVAL);
	CHECK_ERR(tee(out, b[1], 10, 0), EINVAL);
	CHECK_ERR(tee(a[0], out, 10, 0), EINVAL);
	CHECK_ERR(tee(a[1], b[1], 10, 0), EBADF);
	CHECK_EQ(tee(a[0], b[1], 0, 0), 0);
	// Writer gone and source empty: 0 (EOF).
	CHECK_EQ(read(a[0], buf, 1), 1);
	close(a[1]);
	CHECK_EQ(tee(a[0], b[1], 10, 0), 0);
	close(a[0]);
	close(b[0]);
	close(b[1]);
	close(out);
	return 0;
}
