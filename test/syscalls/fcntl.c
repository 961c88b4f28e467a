// fcntl: F_GETFD/F_SETFD manage FD_CLOEXEC per descriptor; F_GETFL reports
// the access mode and F_SETFL changes only O_APPEND/O_NONBLOCK (shared by
// dups), never the access mode; F_DUPFD/F_DUPFD_CLOEXEC return the lowest
// free fd >= arg; bad arguments -> EINVAL, bad fds -> EBADF.
//
//go:build ignore

#include "check.h"

int main(int argc, char **argv) {
	int fd = open(fixture(argc, argv, "small.txt"), O_RDONLY);
	CHECK(fd >= 0);
	CHECK_EQ(fcntl(fd, F_GETFD), 0);
	CHECK_EQ(fcntl(fd, F_SETFD, FD_CLOEXEC), 0);
	CHECK_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC);
	CHECK_EQ(fcntl(fd, F_SETFD, 0), 0);
	CHECK_EQ(fcntl(fd, F_GETFD), 0);
	CHECK_EQ(fcntl(fd, F_SETFD, 0xff), 0); // only bit 0 sticks
	CHECK_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC);

	int fl = fcntl(fd, F_GETFL);
	CHECK(fl >= 0);
	CHECK_EQ(fl & O_ACCMODE, O_RDONLY);
	CHECK_EQ(fl & (O_NONBLOCK | O_APPEND), 0);
	CHECK_EQ(fcntl(fd, F_SETFL, O_NONBLOCK | O_APPEND | O_RDWR), 0);
	fl = fcntl(fd, F_GETFL);
	CHECK_EQ(fl & O_ACCMODE, O_RDONLY); // access mode unchanged
	CHECK_EQ(fl & (O_NONBLOCK | O_APPEND), O_NONBLOCK | O_APPEND);
	int d = dup(fd);
	CHECK(d >= 0);
	CHECK_EQ(fcntl(d, F_GETFL) & O_NONBLOCK, O_NONBLOCK); // status flags are shared
	CHECK_EQ(fcntl(d, F_GETFD), 0);                      // fd flags are not
	CHECK_EQ(fcntl(d, F_SETFL, 0), 0);
	CHECK_EQ(fcntl(fd, F_GETFL) & (O_NONBLOCK | O_APPEND), 0);

	// Pipes: access modes of both ends.
	int p[2];
	CHECK_EQ(pipe(p), 0);
	CHECK_EQ(fcntl(p[0], F_GETFL) & O_ACCMODE, O_RDONLY);
	CHECK_EQ(fcntl(p[1], F_GETFL) & O_ACCMODE, O_WRONLY);

	// F_DUPFD / F_DUPFD_CLOEXEC.
	int a = fcntl(fd, F_DUPFD, 100);
	CHECK_EQ(a, 100);
	CHECK_EQ(fcntl(a, F_GETFD), 0);
	int b = fcntl(fd, F_DUPFD, 100);
	CHECK_EQ(b, 101);
	CHECK_EQ(close(a), 0);
	int c = fcntl(fd, F_DUPFD_CLOEXEC, 100);
	CHECK_EQ(c, 100);
	CHECK_EQ(fcntl(c, F_GETFD), FD_CLOEXEC);
	int low = fcntl(fd, F_DUPFD, 0);
	CHECK(low >= 0 && low < 100);
	CHECK_EQ(lseek(fd, 4, SEEK_SET), 4);
	CHECK_EQ(lseek(c, 0, SEEK_CUR), 4);

	// Errors.
	CHECK_ERR(fcntl(fd, F_DUPFD, -1), EINVAL);
	CHECK_ERR(fcntl(fd, F_DUPFD, 1 << 30), EINVAL);
	CHECK_ERR(fcntl(fd, 12345), EINVAL);
	CHECK_ERR(fcntl(1000, F_GETFD), EBADF);
	CHECK_ERR(fcntl(1000, F_GETFL), EBADF);
	CHECK_ERR(fcntl(1000, F_DUPFD, 0), EBADF);
	CHECK_ERR(fcntl(-1, F_SETFD, 0), EBADF);
	return 0;
}
