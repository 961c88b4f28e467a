// fs_pipe_size: F_GETPIPE_SZ reports the capacity (64 KiB by default) and
// F_SETPIPE_SZ changes it, rounding up to a power-of-two number of pages
// and returning the new size; a non-blocking writer can fill exactly that
// much; shrinking below the data held is EBUSY; 0 gives one page;
// FIONREAD reports the bytes queued; non-pipes are EBADF.
//
//go:build ignore

#include "fs_check.h"
#include <sys/ioctl.h>

static long fill(int fd) {
	static char buf[4096];
	long total = 0;
	ssize_t n;
	while ((n = write(fd, buf, sizeof buf)) > 0)
		total += n;
	CHECK_EQ(errno, EAGAIN);
	return total;
}

int main(void) {
	long ps = page_size();
	int p[2];
	CHECK_OK(pipe2(p, O_NONBLOCK));
	CHECK_EQ(fcntl(p[0], F_GETPIPE_SZ), 65536);
	CHECK_EQ(fcntl(p[1], F_GETPIPE_SZ), 65536);
	CHECK_EQ(fcntl(p[1], F_SETPIPE_SZ, 3 * ps), 4 * ps);
	CHECK_EQ(fcntl(p[0], F_GETPIPE_SZ), 4 * ps);
	CHECK_EQ(fill(p[1]), 4 * ps);
	int q = 0;
	CHECK_OK(ioctl(p[0], FIONREAD, &q));
	CHECK_EQ(q, 4 * ps);
	CHECK_ERR(fcntl(p[1], F_SETPIPE_SZ, ps), EBUSY);
	CHECK_EQ(fcntl(p[1], F_GETPIPE_SZ), 4 * ps);

	// Growing keeps the data and makes room.
	CHECK_EQ(fcntl(p[1], F_SETPIPE_SZ, 1 << 20), 1 << 20);
	CHECK_EQ(fill(p[1]), (1 << 20) - 4 * ps);
	CHECK_OK(ioctl(p[0], FIONREAD, &q));
	CHECK_EQ(q, 1 << 20);
	close(p[0]);
	close(p[1]);

	CHECK_OK(pipe(p));
	CHECK_EQ(fcntl(p[0], F_SETPIPE_SZ, 0), ps);
	CHECK_EQ(fcntl(p[0], F_SETPIPE_SZ, ps + 1), 2 * ps);
	CHECK_ERR(fcntl(p[0], F_SETPIPE_SZ, opaque(-1)), EINVAL);
	scratch_cd();
	make_file("f", 0644, NULL, 0);
	int f = open("f", O_RDONLY);
	CHECK_ERR(fcntl(f, F_GETPIPE_SZ), EBADF);
	CHECK_ERR(fcntl(f, F_SETPIPE_SZ, 65536), EBADF);
	close(f);
	close(p[0]);
	close(p[1]);
	return 0;
}
