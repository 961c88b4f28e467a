// exec_cloexec: execve closes exactly the descriptors marked close-on-exec
// (O_CLOEXEC, FD_CLOEXEC via fcntl, pipe2/dup3/F_DUPFD_CLOEXEC) and keeps the
// others (dup clears the flag; clearing it with fcntl works), with their
// file offsets and the flag still clear.
//
//go:build ignore

#include "task_check.h"

static int child(const char *arg) {
	int keep[4], gone[5];
	if (sscanf(arg, "%d,%d,%d,%d/%d,%d,%d,%d,%d", &keep[0], &keep[1], &keep[2], &keep[3], &gone[0],
		   &gone[1], &gone[2], &gone[3], &gone[4]) != 9)
		return 10;
	for (int i = 0; i < 4; i++)
		CHECK_EQ(fcntl(keep[i], F_GETFD), 0);
	for (int i = 0; i < 5; i++)
		CHECK_ERR(fcntl(gone[i], F_GETFD), EBADF);
	CHECK_EQ(lseek(keep[0], 0, SEEK_CUR), 3); // the offset survived
	char b[4] = {0};
	CHECK_EQ(read(keep[0], b, 3), 3);
	CHECK_MEM(b, "lo,", 3);
	CHECK_EQ(write(keep[3], "ok", 2), 2); // the pipe's write end
	return 0;
}

int main(int argc, char **argv) {
	if (argc > 3 && strcmp(argv[2], "exec-child") == 0)
		return child(argv[3]);
	const char *small = fixture(argc, argv, "small.txt");
	int plain = open(small, O_RDONLY);
	int cloexec = open(small, O_RDONLY | O_CLOEXEC);
	CHECK(plain >= 0 && cloexec >= 0);
	char b[3];
	CHECK_EQ(read(plain, b, 3), 3);
	CHECK_EQ(fcntl(cloexec, F_GETFD), FD_CLOEXEC);
	int duped = dup(cloexec); // dup clears FD_CLOEXEC
	CHECK(duped >= 0);
	CHECK_EQ(fcntl(duped, F_GETFD), 0);
	int set = dup(plain);
	CHECK_OK(fcntl(set, F_SETFD, FD_CLOEXEC));
	int cleared = open(small, O_RDONLY | O_CLOEXEC);
	CHECK_OK(fcntl(cleared, F_SETFD, 0));
	int d3 = dup3(plain, 50, O_CLOEXEC);
	CHECK_EQ(d3, 50);
	int dfd = fcntl(plain, F_DUPFD_CLOEXEC, 60);
	CHECK_EQ(dfd, 60);
	int p[2], q[2];
	CHECK_OK(pipe2(p, O_CLOEXEC));
	CHECK_OK(pipe(q));

	char arg[128];
	snprintf(arg, sizeof arg, "%d,%d,%d,%d/%d,%d,%d,%d,%d", plain, duped, cleared, q[1], cloexec, set, d3, dfd, p[1]);
	pid_t pid = XFORK();
	if (pid == 0)
		reexec(argv, "exec-child", arg, NULL);
	close(q[1]);
	WAIT_EXIT(pid, 0);
	char ok[3] = {0};
	CHECK_EQ(read(q[0], ok, sizeof ok), 2);
	CHECK_MEM(ok, "ok", 2);
	return 0;
}
