// fs_memfd_seal_busy: F_SEAL_WRITE cannot be added while a shared writable
// mapping exists (EBUSY), and can once it is unmapped; after it, a shared
// read-only mapping cannot be made writable (EACCES); F_SEAL_FUTURE_WRITE keeps existing writable
// mappings working but refuses new writes and new writable mappings (EPERM).
//
//go:build ignore

#include "fs_check.h"

int main(void) {
	long ps = page_size();
	int fd = memfd_create("busy", MFD_ALLOW_SEALING);
	CHECK(fd >= 0);
	CHECK_OK(ftruncate(fd, ps));
	char *w = mmap(NULL, ps, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(w != MAP_FAILED);
	w[0] = 'w';
	CHECK_ERR(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE), EBUSY);
	CHECK_EQ(fcntl(fd, F_GET_SEALS), 0);
	CHECK_OK(munmap(w, ps));
	CHECK_OK(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE));
	// (A shared read-only mapping made before the seal may or may not
	// count as writable, depending on the kernel version: not tested.)
	char *r = mmap(NULL, ps, PROT_READ, MAP_SHARED, fd, 0);
	CHECK(r != MAP_FAILED);
	CHECK_EQ(r[0], 'w');
	CHECK_ERR(mprotect(r, ps, PROT_READ | PROT_WRITE), EACCES);
	CHECK_OK(munmap(r, ps));

	// F_SEAL_FUTURE_WRITE: the existing mapping still writes.
	int f2 = memfd_create("future", MFD_ALLOW_SEALING);
	CHECK(f2 >= 0);
	CHECK_OK(ftruncate(f2, ps));
	w = mmap(NULL, ps, PROT_READ | PROT_WRITE, MAP_SHARED, f2, 0);
	CHECK(w != MAP_FAILED);
	CHECK_OK(fcntl(f2, F_ADD_SEALS, F_SEAL_FUTURE_WRITE));
	w[1] = 'z';
	char c;
	CHECK_EQ(pread(f2, &c, 1, 1), 1);
	CHECK_EQ(c, 'z');
	CHECK_ERR(pwrite(f2, "x", 1, 0), EPERM);
	CHECK(mmap(NULL, ps, PROT_READ | PROT_WRITE, MAP_SHARED, f2, 0) == MAP_FAILED);
	CHECK_EQ(errno, EPERM);
	void *ro = mmap(NULL, ps, PROT_READ, MAP_SHARED, f2, 0);
	CHECK(ro != MAP_FAILED);
	CHECK_OK(munmap(ro, ps));
	CHECK_OK(munmap(w, ps));
	close(f2);
	close(fd);
	return 0;
}
