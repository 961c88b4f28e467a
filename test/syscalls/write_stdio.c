// write_stdio: write/writev to stdout return the byte counts; a zero-length
// write returns 0; stdin (the harness gives /dev/null) reads EOF;
// stdout/stderr are open for writing.
//
//go:build ignore

#include "check.h"
#include <sys/uio.h>

int main(void) {
	CHECK_EQ(write(1, "", 0), 0);
	CHECK_EQ(write(2, "", 0), 0);
	CHECK_EQ(write(1, "write_stdio: ", 13), 13);
	struct iovec iov[] = {{"o", 1}, {NULL, 0}, {"k\n", 2}};
	CHECK_EQ(writev(1, iov, 3), 3);
	for (int fd = 1; fd <= 2; fd++) {
		int fl = fcntl(fd, F_GETFL);
		CHECK(fl >= 0);
		CHECK((fl & O_ACCMODE) != O_RDONLY);
	}

	char c;
	CHECK_EQ(read(0, &c, 1), 0);
	return 0;
}
