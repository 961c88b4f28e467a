// fs_splice: splice moves data file -> pipe and pipe -> file, with an
// offset pointer (file offset unchanged, pointer advanced) or without (file
// offset used and advanced); an offset for the pipe side is ESPIPE; two
// non-pipes EINVAL; an empty pipe with SPLICE_F_NONBLOCK EAGAIN; a file at
// EOF gives 0.
//
//go:build ignore

#include "fs_check.h"

int main(void) {
	scratch_cd();
	make_file("src", 0644, "0123456789abcdef", 16);
	int in = open("src", O_RDONLY);
	int out = open("dst", O_RDWR | O_CREAT | O_TRUNC, 0644);
	CHECK(in >= 0 && out >= 0);
	int p[2];
	CHECK_OK(pipe(p));

	// file -> pipe with offset.
	loff_t off = 4;
	CHECK_EQ(splice(in, &off, p[1], NULL, 6, 0), 6);
	CHECK_EQ(off, 10);
	CHECK_EQ(lseek(in, 0, SEEK_CUR), 0);
	// pipe -> file at an offset.
	loff_t woff = 100;
	CHECK_EQ(splice(p[0], NULL, out, &woff, 6, 0), 6);
	CHECK_EQ(woff, 106);
	CHECK_EQ(lseek(out, 0, SEEK_CUR), 0);
	char buf[128];
	CHECK_EQ(pread(out, buf, sizeof buf, 0), 106);
	CHECK_FILL(buf, 0, 100);
	CHECK_MEM(buf + 100, "456789", 6);

	// Without offsets: the file offsets move.
	CHECK_EQ(lseek(in, 10, SEEK_SET), 10);
	CHECK_EQ(splice(in, NULL, p[1], NULL, 100, 0), 6); // short at EOF
	CHECK_EQ(lseek(in, 0, SEEK_CUR), 16);
	CHECK_EQ(splice(in, NULL, p[1], NULL, 100, 0), 0);
	CHECK_EQ(splice(p[0], NULL, out, NULL, 3, 0), 3);
	CHECK_EQ(lseek(out, 0, SEEK_CUR), 3);
	CHECK_EQ(splice(p[0], NULL, out, NULL, 100, SPLICE_F_MOVE), 3);
	CHECK_EQ(pread(out, buf, 6, 0), 6);
	CHECK_MEM(buf, "abcdef", 6);

	// Pipe written by write(), spliced into a file.
	CHECK_EQ(write(p[1], "XYZ", 3), 3);
	woff = 0;
	CHECK_EQ(splice(p[0], NULL, out, &woff, 3, 0), 3);
	CHECK_EQ(pread(out, buf, 3, 0), 3);
	CHECK_MEM(buf, "XYZ", 3);

	// Errors.
	CHECK_ERR(splice(p[0], NULL, out, NULL, 10, SPLICE_F_NONBLOCK), EAGAIN);
	off = 0;
	CHECK_ERR(splice(p[0], &off, out, NULL, 10, 0), ESPIPE);
	CHECK_ERR(splice(in, NULL, p[1], &off, 10, 0), ESPIPE);
	CHECK_ERR(splice(in, NULL, out, NULL, 10, 0), EINVAL);
	int ro = open("dst", O_RDONLY);
	CHECK(ro >= 0);
	CHECK_EQ(write(p[1], "x", 1), 1);
	CHECK_ERR(splice(p[0], NULL, ro, NULL, 1, 0), EBADF);
	off = -1;
	CHECK_ERR(splice(in, &off, p[1], NULL, 1, 0), EINVAL);
	close(ro);
	close(p[0]);
	close(p[1]);
	close(in);
	close(out);
	return 0;
}
