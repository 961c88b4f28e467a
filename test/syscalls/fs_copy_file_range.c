// fs_copy_file_range: copy_file_range copies between files (or within one,
// non-overlapping), from/to explicit offsets (pointers advanced, file
// offsets untouched) or the file offsets; past EOF it returns 0; an
// overlapping range in the same file, non-zero flags, or a non-regular
// file are EINVAL; a read-only destination or O_APPEND destination EBADF.
//
//go:build ignore

#include "fs_check.h"

int main(void) {
	scratch_cd();
	char data[8192];
	for (int i = 0; i < (int)sizeof data; i++)
		data[i] = 'A' + i % 23;
	make_file("src", 0644, data, sizeof data);
	int in = open("src", O_RDONLY);
	int out = open("dst", O_RDWR | O_CREAT | O_TRUNC, 0644);
	CHECK(in >= 0 && out >= 0);

	loff_t ioff = 100, ooff = 50;
	CHECK_EQ(copy_file_range(in, &ioff, out, &ooff, 1000, 0), 1000);
	CHECK_EQ(ioff, 1100);
	CHECK_EQ(ooff, 1050);
	CHECK_EQ(lseek(in, 0, SEEK_CUR), 0);
	CHECK_EQ(lseek(out, 0, SEEK_CUR), 0);
	static char buf[16384];
	CHECK_EQ(pread(out, buf, sizeof buf, 0), 1050);
	CHECK_FILL(buf, 0, 50);
	CHECK_MEM(buf + 50, data + 100, 1000);

	// File offsets, short at EOF.
	CHECK_EQ(lseek(in, 8000, SEEK_SET), 8000);
	CHECK_EQ(lseek(out, 2000, SEEK_SET), 2000);
	ssize_t n = copy_file_range(in, NULL, out, NULL, 1000, 0);
	CHECK_EQ(n, 192);
	CHECK_EQ(lseek(in, 0, SEEK_CUR), 8192);
	CHECK_EQ(lseek(out, 0, SEEK_CUR), 2192);
	CHECK_EQ(pread(out, buf, 192, 2000), 192);
	CHECK_MEM(buf, data + 8000, 192);
	CHECK_EQ(copy_file_range(in, NULL, out, NULL, 1000, 0), 0);

	// Within one file, non-overlapping.
	int rw = open("src", O_RDWR);
	CHECK(rw >= 0);
	ioff = 0;
	ooff = 4096;
	CHECK_EQ(copy_file_range(rw, &ioff, rw, &ooff, 100, 0), 100);
	CHECK_EQ(pread(rw, buf, 100, 4096), 100);
	CHECK_MEM(buf, data, 100);
	ioff = 0;
	ooff = 50;
	CHECK_ERR(copy_file_range(rw, &ioff, rw, &ooff, 100, 0), EINVAL);

	// Errors.
	ioff = ooff = 0;
	CHECK_ERR(copy_file_range(in, &ioff, out, &ooff, 10, 1), EINVAL);
	int ro = open("dst", O_RDONLY);
	CHECK(ro >= 0);
	CHECK_ERR(copy_file_range(in, &ioff, ro, &ooff, 10, 0), EBADF);
	int app = open("dst", O_WRONLY | O_APPEND);
	CHECK(app >= 0);
	CHECK_ERR(copy_file_range(in, &ioff, app, &ooff, 10, 0), EBADF);
	int p[2];
	CHECK_OK(pipe(p));
	CHECK_ERR(copy_file_range(in, NULL, p[1], NULL, 10, 0), EINVAL);
	CHECK_OK(mkdir("d", 0755));
	int d = open("d", O_RDONLY | O_DIRECTORY);
	CHECK(d >= 0);
	CHECK_ERR(copy_file_range(d, NULL, out, NULL, 10, 0), EISDIR);
	CHECK_EQ(copy_file_range(in, &ioff, out, &ooff, 0, 0), 0);
	close(d);
	close(p[0]);
	close(p[1]);
	close(app);
	close(ro);
	close(rw);
	close(in);
	close(out);
	return 0;
}
