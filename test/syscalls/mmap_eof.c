// mmap_eof: mapping a file whose size is not a page multiple gives the file's
// bytes followed by zeros up to the end of the last page, and that tail is
// writable in a private mapping without touching the file.
//
//go:build ignore

#include "check.h"

int main(int argc, char **argv) {
	long ps = page_size();
	int fd = open(fixture(argc, argv, "small.txt"), O_RDONLY);
	CHECK(fd >= 0);
	unsigned char *p = mmap(NULL, SMALL_LEN, PROT_READ, MAP_PRIVATE, fd, 0);
	CHECK(p != MAP_FAILED);
	CHECK_MEM(p, SMALL_TXT, SMALL_LEN);
	CHECK_FILL(p + SMALL_LEN, 0, ps - SMALL_LEN); // rest of the page

	unsigned char *w = mmap(NULL, ps, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	CHECK(w != MAP_FAILED);
	memset(w + SMALL_LEN, 0x7f, ps - SMALL_LEN);
	CHECK_FILL(w + SMALL_LEN, 0x7f, ps - SMALL_LEN);
	CHECK_FILL(p + SMALL_LEN, 0, ps - SMALL_LEN);
	struct stat st;
	CHECK_EQ(fstat(fd, &st), 0);
	CHECK_EQ(st.st_size, SMALL_LEN);

	// tail.bin: one full page of 'x' plus 100 bytes; the second page is
	// 100 x's and zeros.
	int t = open(fixture(argc, argv, "tail.bin"), O_RDONLY);
	CHECK(t >= 0);
	unsigned char *q = mmap(NULL, 2 * ps, PROT_READ, MAP_PRIVATE, t, 0);
	CHECK(q != MAP_FAILED);
	CHECK_FILL(q, 'x', TAIL_LEN);
	CHECK_FILL(q + TAIL_LEN, 0, 2 * ps - TAIL_LEN);
	// Same through a mapping at offset one page.
	unsigned char *o = mmap(NULL, ps, PROT_READ, MAP_PRIVATE, t, ps);
	CHECK(o != MAP_FAILED);
	CHECK_FILL(o, 'x', TAIL_LEN - ps);
	CHECK_FILL(o + (TAIL_LEN - ps), 0, 2 * ps - TAIL_LEN);
	return 0;
}
