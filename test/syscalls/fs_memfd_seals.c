// fs_memfd_seals: with MFD_ALLOW_SEALING, F_ADD_SEALS accumulates seals
// (F_GET_SEALS): F_SEAL_SHRINK forbids shrinking (EPERM) but not growing,
// F_SEAL_GROW forbids growing by write or truncate (EPERM) but allows
// overwriting in place, F_SEAL_WRITE forbids writes (EPERM) and shared
// writable mappings, F_SEAL_SEAL freezes the set (EPERM); seals are per
// inode (visible through every fd); a read-only fd cannot add seals.
//
//go:build ignore

#include "fs_check.h"

int main(void) {
	int fd = memfd_create("seals", MFD_ALLOW_SEALING);
	CHECK(fd >= 0);
	CHECK_OK(ftruncate(fd, 100));

	CHECK_OK(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK));
	CHECK_EQ(fcntl(fd, F_GET_SEALS), F_SEAL_SHRINK);
	CHECK_ERR(ftruncate(fd, 50), EPERM);
	CHECK_OK(ftruncate(fd, 200));
	CHECK_OK(ftruncate(fd, 200)); // same size is fine

	CHECK_OK(fcntl(fd, F_ADD_SEALS, F_SEAL_GROW));
	CHECK_EQ(fcntl(fd, F_GET_SEALS), F_SEAL_SHRINK | F_SEAL_GROW);
	CHECK_ERR(ftruncate(fd, 300), EPERM);
	CHECK_ERR(pwrite(fd, "x", 1, 200), EPERM); // would grow
	CHECK_EQ(pwrite(fd, "in place", 8, 0), 8);
	CHECK_EQ(pwrite(fd, "end", 3, 197), 3); // up to the end exactly

	// A second fd (via /proc) sees the same seals.
	char link[64];
	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	int other = open(link, O_RDWR);
	CHECK(other >= 0);
	CHECK_EQ(fcntl(other, F_GET_SEALS), F_SEAL_SHRINK | F_SEAL_GROW);

	CHECK_OK(fcntl(other, F_ADD_SEALS, F_SEAL_WRITE));
	CHECK_ERR(write(fd, "no", 2), EPERM);
	CHECK_ERR(pwrite(fd, "no", 2, 0), EPERM);
	CHECK(mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) == MAP_FAILED);
	CHECK_EQ(errno, EPERM);
	void *ro = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	CHECK(ro != MAP_FAILED);
	CHECK_MEM(ro, "in place", 8);
	CHECK_OK(munmap(ro, 4096));
	char *priv = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	CHECK(priv != MAP_FAILED); // private copies are fine
	priv[0] = 'X';
	char c;
	CHECK_EQ(pread(fd, &c, 1, 0), 1);
	CHECK_EQ(c, 'i');
	CHECK_OK(munmap(priv, 4096));

	CHECK_OK(fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL));
	CHECK_ERR(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK), EPERM); // even one already set
	CHECK_EQ(fcntl(fd, F_GET_SEALS), F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);

	// A read-only descriptor cannot add seals.
	int m2 = memfd_create("ro", MFD_ALLOW_SEALING);
	snprintf(link, sizeof link, "/proc/self/fd/%d", m2);
	int rofd = open(link, O_RDONLY);
	CHECK(rofd >= 0);
	CHECK_ERR(fcntl(rofd, F_ADD_SEALS, F_SEAL_GROW), EPERM);
	CHECK_ERR(fcntl(m2, F_ADD_SEALS, 0x1000), EINVAL);
	CHECK_EQ(fcntl(rofd, F_GET_SEALS), 0);
	close(rofd);
	close(m2);
	close(other);
	close(fd);
	return 0;
}
