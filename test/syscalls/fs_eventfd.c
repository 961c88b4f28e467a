// fs_eventfd: an eventfd counter adds written values and a read returns and
// resets it (EAGAIN at zero when non-blocking); with EFD_SEMAPHORE each
// read returns 1 and decrements; a write that would overflow past
// 0xfffffffffffffffe is EAGAIN, writing UINT64_MAX is EINVAL, buffers under
// 8 bytes EINVAL; poll reports POLLIN when non-zero and POLLOUT while
// writable.
//
//go:build ignore

#include "fs_check.h"
#include <sys/eventfd.h>

int main(void) {
	int fd = eventfd(3, EFD_NONBLOCK | EFD_CLOEXEC);
	CHECK(fd >= 0);
	uint64_t v = 4;
	CHECK_EQ(write(fd, &v, 8), 8);
	CHECK_EQ(wait_fd(fd, POLLIN | POLLOUT, 0), POLLIN | POLLOUT);
	CHECK_EQ(read(fd, &v, 8), 8);
	CHECK_EQ(v, 7);
	CHECK_ERR(read(fd, &v, 8), EAGAIN);
	CHECK_EQ(wait_fd(fd, POLLIN | POLLOUT, 0), POLLOUT);

	// Overflow and invalid values.
	v = 0xfffffffffffffffeULL;
	CHECK_EQ(write(fd, &v, 8), 8);
	CHECK_EQ(wait_fd(fd, POLLOUT, 0), 0); // full
	v = 1;
	CHECK_ERR(write(fd, &v, 8), EAGAIN);
	v = UINT64_MAX;
	CHECK_ERR(write(fd, &v, 8), EINVAL);
	CHECK_ERR(write(fd, &v, 4), EINVAL);
	CHECK_ERR(read(fd, &v, 4), EINVAL);
	CHECK_EQ(read(fd, &v, 8), 8);
	CHECK_EQ(v, 0xfffffffffffffffeULL);
	v = 0;
	CHECK_EQ(write(fd, &v, 8), 8); // adding 0 is allowed
	CHECK_ERR(read(fd, &v, 8), EAGAIN);
	close(fd);

	// Semaphore mode.
	fd = eventfd(2, EFD_SEMAPHORE | EFD_NONBLOCK);
	CHECK(fd >= 0);
	CHECK_EQ(read(fd, &v, 8), 8);
	CHECK_EQ(v, 1);
	CHECK_EQ(read(fd, &v, 8), 8);
	CHECK_EQ(v, 1);
	CHECK_ERR(read(fd, &v, 8), EAGAIN);
	v = 5;
	CHECK_EQ(write(fd, &v, 8), 8);
	for (int i = 0; i < 5; i++) {
		CHECK_EQ(read(fd, &v, 8), 8);
		CHECK_EQ(v, 1);
	}
	CHECK_ERR(read(fd, &v, 8), EAGAIN);

	// Blocking read wakes up on a write from a child.
	int b = eventfd(0, 0);
	CHECK(b >= 0);
	pid_t pid = XFORK();
	if (pid == 0) {
		msleep(30);
		uint64_t one = 9;
		_exit(write(b, &one, 8) == 8 ? 0 : 1);
	}
	alarm(10);
	CHECK_EQ(read(b, &v, 8), 8);
	CHECK_EQ(v, 9);
	alarm(0);
	WAIT_EXIT(pid, 0);
	CHECK_ERR(eventfd(0, 0x2), EINVAL);
	close(b);
	close(fd);
	return 0;
}
