// mmap_file: a private file mapping shows the file's bytes (at page-aligned
// offsets too) and outlives the fd; writes to a private writable mapping stay
// private (the file and other mappings are unchanged); shared writable
// mappings of a read-only fd -> EACCES; unaligned offset -> EINVAL;
// directories and pipes -> ENODEV; bad fd -> EBADF.
//
//go:build ignore

#include "check.h"

int main(int argc, char **argv) {
	long ps = page_size();
	int fd = open(fixture(argc, argv, "small.txt"), O_RDONLY);
	CHECK(fd >= 0);

	char *r = mmap(NULL, SMALL_LEN, PROT_READ, MAP_PRIVATE, fd, 0);
	CHECK(r != MAP_FAILED);
	CHECK_EQ((uintptr_t)r % ps, 0);
	CHECK_MEM(r, SMALL_TXT, SMALL_LEN);

	// Private writable mapping of a read-only fd: copy-on-write.
	char *w = mmap(NULL, SMALL_LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	CHECK(w != MAP_FAILED);
	CHECK(w != r);
	w[0] = 'j';
	CHECK_MEM(w, "jello, cocoon\n", SMALL_LEN);
	CHECK_MEM(r, SMALL_TXT, SMALL_LEN);
	char buf[SMALL_LEN];
	CHECK_EQ(pread(fd, buf, SMALL_LEN, 0), SMALL_LEN);
	CHECK_MEM(buf, SMALL_TXT, SMALL_LEN);

	// The mapping survives close.
	CHECK_EQ(close(fd), 0);
	CHECK_MEM(r, SMALL_TXT, SMALL_LEN);
	CHECK_EQ(w[0], 'j');

	// Offset mapping into big.bin.
	int big = open(fixture(argc, argv, "big.bin"), O_RDONLY);
	CHECK(big >= 0);
	unsigned char *b = mmap(NULL, 3 * ps, PROT_READ, MAP_PRIVATE, big, 8 * ps);
	CHECK(b != MAP_FAILED);
	for (long i = 0; i < 3 * ps; i++)
		if (b[i] != (8 * ps + i) % 251)
			FAIL("big.bin at %ld (got %d want %ld)", 8 * ps + i, b[i], (8 * ps + i) % 251);
	// The last page of a 1 MiB file.
	unsigned char *l = mmap(NULL, ps, PROT_READ, MAP_PRIVATE, big, BIG_LEN - ps);
	CHECK(l != MAP_FAILED);
	CHECK_EQ(l[ps - 1], (BIG_LEN - 1) % 251);

	// Errors.
	CHECK_ERR(mmap(NULL, ps, PROT_READ, MAP_PRIVATE, big, 1), EINVAL);
	CHECK_ERR(mmap(NULL, ps, PROT_READ | PROT_WRITE, MAP_SHARED, big, 0), EACCES);
	CHECK_ERR(mmap(NULL, ps, PROT_READ, MAP_PRIVATE, 1000, 0), EBADF);
	CHECK_ERR(mmap(NULL, ps, PROT_READ, MAP_PRIVATE, -1, 0), EBADF);
	int dfd = open(argv[1], O_RDONLY | O_DIRECTORY);
	CHECK(dfd >= 0);
	CHECK_ERR(mmap(NULL, ps, PROT_READ, MAP_PRIVATE, dfd, 0), ENODEV);
	int pfd[2];
	CHECK_EQ(pipe(pfd), 0);
	CHECK_ERR(mmap(NULL, ps, PROT_READ, MAP_PRIVATE, pfd[0], 0), ENODEV);
	return 0;
}
