// dup: dup returns the lowest free fd, shares the file offset and clears
// FD_CLOEXEC; dup2 onto an open fd closes it first, onto itself is a no-op
// returning the fd; dup3 sets O_CLOEXEC, rejects oldfd == newfd and unknown
// flags with EINVAL; bad fds -> EBADF.
//
//go:build ignore

#include "check.h"

int main(int argc, char **argv) {
	int fd = open(fixture(argc, argv, "small.txt"), O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 3);
	int d = dup(fd);
	CHECK(d > fd);
	CHECK_EQ(fcntl(d, F_GETFD), 0);
	CHECK_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC);

	// Shared offset.
	char buf[16];
	CHECK_EQ(read(fd, buf, 3), 3);
	CHECK_EQ(lseek(d, 0, SEEK_CUR), 3);
	CHECK_EQ(read(d, buf, 2), 2);
	CHECK_MEM(buf, "lo", 2);
	CHECK_EQ(lseek(fd, 0, SEEK_CUR), 5);

	// Lowest free descriptor.
	int e = dup(fd);
	CHECK_EQ(e, d + 1);
	CHECK_EQ(close(d), 0);
	CHECK_EQ(dup(e), d);

	// dup2 onto an open fd (another file): it now refers to small.txt.
	int other = open(fixture(argc, argv, "big.bin"), O_RDONLY);
	CHECK(other >= 0);
	CHECK_EQ(dup2(fd, other), other);
	CHECK_EQ(lseek(other, 0, SEEK_CUR), 5);
	struct stat s1, s2;
	CHECK_EQ(fstat(other, &s1), 0);
	CHECK_EQ(fstat(fd, &s2), 0);
	CHECK_EQ(s1.st_ino, s2.st_ino);
	CHECK_EQ(fcntl(other, F_GETFD), 0);
	// dup2 to itself: returns fd, keeps FD_CLOEXEC.
	CHECK_EQ(dup2(fd, fd), fd);
	CHECK_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC);
	// dup2 to a high, unused fd.
	CHECK_EQ(dup2(fd, 200), 200);
	CHECK_EQ(fcntl(200, F_GETFD), 0);
	CHECK_EQ(close(200), 0);

	// dup3.
	CHECK_EQ(dup3(fd, 201, O_CLOEXEC), 201);
	CHECK_EQ(fcntl(201, F_GETFD), FD_CLOEXEC);
	CHECK_EQ(dup3(d, 201, 0), 201); // replaces, clears the flag
	CHECK_EQ(fcntl(201, F_GETFD), 0);
	CHECK_ERR(dup3(fd, fd, 0), EINVAL);
	CHECK_ERR(dup3(fd, fd, O_CLOEXEC), EINVAL);
	CHECK_ERR(dup3(fd, 202, O_NONBLOCK), EINVAL);
	CHECK_ERR(fcntl(202, F_GETFD), EBADF); // not created

	// Bad descriptors.
	CHECK_ERR(dup(1000), EBADF);
	CHECK_ERR(dup(-1), EBADF);
	CHECK_ERR(dup2(1000, 203), EBADF);
	CHECK_ERR(dup2(1000, 1000), EBADF); // self-dup of a closed fd
	CHECK_ERR(dup2(fd, -1), EBADF);
	CHECK_ERR(dup3(1000, 203, 0), EBADF);
	CHECK_ERR(fcntl(203, F_GETFD), EBADF);
	return 0;
}
