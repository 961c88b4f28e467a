// fs_close_range: close_range closes every open fd in [first, last] (gaps
// are fine, ~0U as last means "all"), with CLOSE_RANGE_CLOEXEC it only sets
// FD_CLOEXEC instead; first > last and unknown flags are EINVAL; an fd set
// to close-on-exec by F_DUPFD_CLOEXEC, O_CLOEXEC or close_range disappears
// across execve while others survive (checked by re-executing).
//
//go:build ignore

#include "fs_check.h"
#include <linux/close_range.h>

static int is_open(int fd) { return fcntl(fd, F_GETFD) >= 0; }

int main(int argc, char **argv) {
	if (argc > 2 && !strcmp(argv[2], "after-exec")) {
		CHECK(is_open(100)); // plain
		CHECK(!is_open(101)); // close_range CLOEXEC
		CHECK(!is_open(102)); // F_DUPFD_CLOEXEC
		CHECK(!is_open(103)); // O_CLOEXEC
		CHECK(is_open(104)); // FD_CLOEXEC cleared again
		return 0;
	}
	scratch();
	make_file(spath("f"), 0644, NULL, 0);
	int f = open(spath("f"), O_RDONLY);
	CHECK(f >= 0);
	for (int fd = 60; fd < 70; fd += 2)
		CHECK_EQ(dup2(f, fd), fd);
	CHECK_OK(close_range(60, 65, 0));
	for (int fd = 60; fd <= 65; fd++)
		CHECK(!is_open(fd));
	CHECK(is_open(66) && is_open(68));
	CHECK_OK(close_range(66, ~0U, 0));
	CHECK(!is_open(66) && !is_open(68));
	CHECK(is_open(f));

	CHECK_EQ(dup2(f, 100), 100);
	CHECK_EQ(dup2(f, 101), 101);
	CHECK_OK(close_range(101, 101, CLOSE_RANGE_CLOEXEC));
	CHECK_EQ(fcntl(101, F_GETFD), FD_CLOEXEC);
	CHECK_EQ(fcntl(100, F_GETFD), 0);
	CHECK_EQ(fcntl(f, F_DUPFD_CLOEXEC, 102), 102);
	CHECK_EQ(fcntl(102, F_GETFD), FD_CLOEXEC);
	int o = open(spath("f"), O_RDONLY | O_CLOEXEC);
	CHECK_EQ(dup3(o, 103, O_CLOEXEC), 103);
	close(o);
	CHECK_EQ(fcntl(f, F_DUPFD_CLOEXEC, 104), 104);
	CHECK_OK(fcntl(104, F_SETFD, 0));
	// F_DUPFD_CLOEXEC picks the lowest free fd >= arg.
	CHECK_EQ(fcntl(f, F_DUPFD_CLOEXEC, 100), 105);
	close(105);

	CHECK_ERR(close_range(10, 5, 0), EINVAL);
	CHECK_ERR(close_range(200, 300, 0x80), EINVAL);
	CHECK_OK(close_range(500, 600, 0)); // nothing open: fine
	CHECK_ERR(fcntl(f, F_DUPFD_CLOEXEC, -1), EINVAL);
	fflush(NULL);
	pid_t pid = XFORK();
	if (pid == 0)
		reexec(argv, "after-exec", NULL, NULL);
	WAIT_EXIT(pid, 0);
	return 0;
}
