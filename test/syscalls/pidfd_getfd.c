// pidfd_getfd: a process can duplicate a descriptor of its child through a
// pidfd: the copy refers to the same open file description (same pipe,
// shared offset) and is close-on-exec; a descriptor the child does not have
// is EBADF, flags are EINVAL, a non-pidfd is EBADF.
//
//go:build ignore

#include "task_check.h"

static int pidfd_open(pid_t pid, unsigned flags) { return syscall(SYS_pidfd_open, pid, flags); }
static int pidfd_getfd(int pidfd, int fd, unsigned flags) { return syscall(SYS_pidfd_getfd, pidfd, fd, flags); }

int main(int argc, char **argv) {
	int rep[2], hold[2];
	CHECK_OK(pipe(rep));
	CHECK_OK(pipe(hold));
	pid_t pid = XFORK();
	if (pid == 0) {
		int secret[2];
		CHECK_OK(pipe(secret));
		CHECK_EQ(write(secret[1], "secret", 6), 6);
		int f = open(fixture(argc, argv, "small.txt"), O_RDONLY);
		CHECK(f >= 0);
		int fds[2] = {secret[0], f};
		CHECK_EQ(write(rep[1], fds, sizeof fds), sizeof fds);
		char c;
		(void)!read(hold[0], &c, 1);
		char b[2];
		_exit(read(f, b, 2) == 2 && memcmp(b, "co", 2) == 0 ? 0 : 5); // offset moved by the parent
	}
	int fds[2];
	CHECK_EQ(read(rep[0], fds, sizeof fds), sizeof fds);
	int pidfd = pidfd_open(pid, 0);
	CHECK(pidfd >= 0);
	int got = pidfd_getfd(pidfd, fds[0], 0);
	CHECK(got >= 0);
	CHECK_EQ(fcntl(got, F_GETFD), FD_CLOEXEC);
	char buf[8] = {0};
	CHECK_EQ(read(got, buf, sizeof buf), 6);
	CHECK_MEM(buf, "secret", 6);
	int file = pidfd_getfd(pidfd, fds[1], 0);
	CHECK(file >= 0);
	CHECK_EQ(lseek(file, 7, SEEK_SET), 7); // "hello, |cocoon"

	CHECK_ERR(pidfd_getfd(pidfd, 1000, 0), EBADF);
	CHECK_ERR(pidfd_getfd(pidfd, fds[0], 1), EINVAL);
	CHECK_ERR(pidfd_getfd(rep[0], fds[0], 0), EBADF);

	CHECK_EQ(write(hold[1], "x", 1), 1);
	WAIT_EXIT(pid, 0);
	return 0;
}
