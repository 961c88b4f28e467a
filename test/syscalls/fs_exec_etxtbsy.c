// A regular file that a process runs cannot be opened for writing, nor
// opened with O_TRUNC, nor truncated: ETXTBSY (Linux denies write access
// to a running program). A file open for writing cannot be run: execve
// fails with ETXTBSY. Reading a running program is fine, and once it has
// exited (or the writer has closed) both work again.
//
//go:build ignore

#include "check.h"
#include "fs_check.h"

// copy_self copies this program to path, executable.
static void copy_self(const char *path) {
	int in = open("/proc/self/exe", O_RDONLY);
	CHECK(in >= 0);
	int out = open(path, O_WRONLY | O_CREAT | O_EXCL, 0755);
	CHECK(out >= 0);
	char buf[65536];
	ssize_t n;
	while ((n = read(in, buf, sizeof buf)) > 0)
		CHECK_EQ(write(out, buf, n), n);
	CHECK_EQ(n, 0);
	close(in);
	close(out);
}

// run_copy forks a child that executes path in mode; with a ready pipe it
// is passed the pipe's write end and a release pipe's read end.
static pid_t run_copy(const char *path, char *fixture, const char *mode, int ready, int release) {
	pid_t pid = XFORK();
	if (pid == 0) {
		char a[16], b[16];
		snprintf(a, sizeof a, "%d", ready);
		snprintf(b, sizeof b, "%d", release);
		char *args[] = {(char *)path, fixture, (char *)mode, a, b, NULL};
		execv(path, args);
		_exit(errno == ETXTBSY ? 42 : 43);
	}
	return pid;
}

int main(int argc, char **argv) {
	if (argc > 2 && strcmp(argv[2], "hold") == 0) {
		// Running copy: say so, then wait for the release (bounded).
		alarm(10);
		int ready = atoi(argv[3]), release = atoi(argv[4]);
		CHECK_EQ(write(ready, "r", 1), 1);
		char c;
		CHECK_EQ(read(release, &c, 1), 0);
		return 0;
	}
	if (argc > 2 && strcmp(argv[2], "exit") == 0)
		return 0;

	// This program itself.
	CHECK_ERR(open("/proc/self/exe", O_WRONLY), ETXTBSY);
	CHECK_ERR(open("/proc/self/exe", O_RDWR), ETXTBSY);
	int fd = open("/proc/self/exe", O_RDONLY);
	CHECK(fd >= 0);
	close(fd);

	scratch_cd();
	const char *prog = spath("prog");
	copy_self(prog);

	// A copy another process runs.
	int ready[2], release[2];
	CHECK_OK(pipe2(ready, O_CLOEXEC));
	CHECK_OK(pipe2(release, O_CLOEXEC));
	fcntl(release[0], F_SETFD, 0);
	fcntl(ready[1], F_SETFD, 0);
	pid_t pid = run_copy(prog, argv[1], "hold", ready[1], release[0]);
	close(ready[1]);
	close(release[0]);
	char c;
	CHECK_EQ(read(ready[0], &c, 1), 1);
	CHECK_ERR(open(prog, O_WRONLY), ETXTBSY);
	CHECK_ERR(open(prog, O_RDWR | O_APPEND), ETXTBSY);
	CHECK_ERR(open(prog, O_RDONLY | O_TRUNC), ETXTBSY);
	CHECK_ERR(truncate(prog, 0), ETXTBSY);
	fd = open(prog, O_RDONLY);
	CHECK(fd >= 0);
	close(fd);
	close(release[1]);
	WAIT_EXIT(pid, 0);
	close(ready[0]);

	// Writable again once it exited; while open for writing it cannot run.
	fd = open(prog, O_WRONLY);
	CHECK(fd >= 0);
	pid = run_copy(prog, argv[1], "exit", -1, -1);
	WAIT_EXIT(pid, 42);
	close(fd);
	pid = run_copy(prog, argv[1], "exit", -1, -1);
	WAIT_EXIT(pid, 0);
	return 0;
}
