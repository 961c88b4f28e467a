// expect: signal 11
// fault_file_ro: writing to a PROT_READ private file mapping kills the
// process with SIGSEGV.
//
//go:build ignore

#include "check.h"

int main(int argc, char **argv) {
	int fd = open(fixture(argc, argv, "small.txt"), O_RDONLY);
	CHECK(fd >= 0);
	volatile char *p = mmap(NULL, page_size(), PROT_READ, MAP_PRIVATE, fd, 0);
	CHECK(p != MAP_FAILED);
	CHECK_EQ(p[0], 'h');
	about_to_fault();
	p[0] = 'j';
	FAIL("write to a read-only file mapping did not fault (p[0] is now %c)", p[0]);
}
