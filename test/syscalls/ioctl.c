// ioctl: terminal ioctls (TCGETS, TIOCGWINSZ) on things that are not
// terminals (a regular file, /dev/null, a pipe, a directory) -> ENOTTY, and
// isatty agrees; an unknown ioctl on a regular file -> ENOTTY; bad fd ->
// EBADF.
//
//go:build ignore

#include "check.h"
#include <sys/ioctl.h>
#include <termios.h>

int main(int argc, char **argv) {
	int p[2];
	CHECK_EQ(pipe(p), 0);
	int fds[] = {
		open(fixture(argc, argv, "small.txt"), O_RDONLY),
		open("/dev/null", O_RDONLY),
		p[0],
		p[1],
		open(argv[1], O_RDONLY | O_DIRECTORY),
	};
	for (unsigned i = 0; i < sizeof fds / sizeof fds[0]; i++) {
		int fd = fds[i];
		CHECK(fd >= 0);
		struct termios t;
		struct winsize ws;
		CHECK_ERR(ioctl(fd, TCGETS, &t), ENOTTY);
		CHECK_ERR(ioctl(fd, TIOCGWINSZ, &ws), ENOTTY);
		CHECK_EQ(isatty(fd), 0);
		CHECK_EQ(errno, ENOTTY);
	}
	CHECK_ERR(ioctl(fds[0], _IO('z', 99)), ENOTTY);
	CHECK_ERR(ioctl(1000, TCGETS, NULL), EBADF);
	return 0;
}
