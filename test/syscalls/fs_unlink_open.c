// fs_unlink_open: a file unlinked while open stays fully usable through
// its descriptors (read, write, fstat with nlink 0, ftruncate, mmap) until
// the last one is closed; a new file with the same name is a different
// inode.
//
//go:build ignore

#include "fs_check.h"

int main(void) {
	scratch_cd();
	make_file("f", 0644, "before", 6);
	int fd = open("f", O_RDWR);
	CHECK(fd >= 0);
	int ro = open("f", O_RDONLY);
	CHECK(ro >= 0);
	ino_t old = ino("f");
	CHECK_OK(unlink("f"));
	CHECK(!lexists("f"));

	struct stat st;
	CHECK_OK(fstat(fd, &st));
	CHECK_EQ(st.st_nlink, 0);
	CHECK_EQ(st.st_ino, old);
	CHECK_EQ(st.st_size, 6);
	char buf[32];
	CHECK_EQ(read(ro, buf, sizeof buf), 6);
	CHECK_MEM(buf, "before", 6);
	CHECK_EQ(pwrite(fd, " and after", 10, 6), 10);
	CHECK_EQ(pread(ro, buf, sizeof buf, 0), 16);
	CHECK_MEM(buf, "before and after", 16);
	CHECK_OK(ftruncate(fd, 4096));
	CHECK_OK(fstat(ro, &st));
	CHECK_EQ(st.st_size, 4096);
	char *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(m != MAP_FAILED);
	CHECK_MEM(m, "before", 6);
	m[0] = 'B';
	CHECK_EQ(pread(ro, buf, 1, 0), 1);
	CHECK_EQ(buf[0], 'B');
	CHECK_OK(munmap(m, 4096));

	// A new file under the old name is unrelated.
	make_file("f", 0644, "new", 3);
	CHECK_OK(fstat(fd, &st));
	CHECK_EQ(st.st_nlink, 0);
	CHECK_EQ(st.st_size, 4096);
	CHECK_EQ(slurp("f", buf, sizeof buf), 3);
	CHECK(ino("f") != old); // not reusable while the old one is open
	CHECK_OK(close(fd));
	CHECK_EQ(pread(ro, buf, 6, 0), 6);
	CHECK_MEM(buf, "Before", 6);
	CHECK_OK(close(ro));
	return 0;
}
