// exec_self: execve replaces the program but keeps the process: the new
// image sees exactly the argv and envp it was given (empty strings included),
// the same pid and parent, and inherited descriptors; its exit status is the
// process's. Failed execves (missing file, not executable, a directory,
// a bad pointer) return errors and leave the caller running.
//
//go:build ignore

#include "task_check.h"

extern char **environ;

static int child(int argc, char **argv) {
	// argv: exe fixture exec-child "two words" "" last
	if (argc != 6)
		return 10;
	if (strcmp(argv[3], "two words") || strcmp(argv[4], "") || strcmp(argv[5], "last"))
		return 11;
	int n = 0;
	while (environ[n])
		n++;
	if (n != 3 || strcmp(environ[0], "A=1") || strcmp(environ[1], "B=x y") || strncmp(environ[2], "FD=", 3))
		return 12;
	int fd = atoi(getenv("FD"));
	pid_t ids[2] = {getpid(), getppid()};
	if (write(fd, ids, sizeof ids) != sizeof ids)
		return 13;
	return 42;
}

int main(int argc, char **argv) {
	if (argc > 2 && strcmp(argv[2], "exec-child") == 0)
		return child(argc, argv);

	int p[2];
	CHECK_OK(pipe(p));
	char fdenv[32];
	snprintf(fdenv, sizeof fdenv, "FD=%d", p[1]);
	pid_t pid = XFORK();
	if (pid == 0) {
		char *args[] = {argv[0], argv[1], "exec-child", "two words", "", "last", NULL};
		char *env[] = {"A=1", "B=x y", fdenv, NULL};
		execve(argv[0], args, env);
		_exit(99);
	}
	close(p[1]);
	pid_t ids[2];
	CHECK_EQ(read(p[0], ids, sizeof ids), sizeof ids);
	CHECK_EQ(ids[0], pid);
	CHECK_EQ(ids[1], getpid());
	WAIT_EXIT(pid, 42);

	// Failures return to the caller.
	char *args[] = {argv[0], NULL};
	CHECK_ERR(execve(fixture(argc, argv, "no-such-file"), args, environ), ENOENT);
	CHECK_ERR(execve(fixture(argc, argv, "small.txt"), args, environ), EACCES); // mode 0644
	CHECK_ERR(execve(fixture(argc, argv, "dir"), args, environ), EACCES);
	CHECK_ERR(execve(fixture(argc, argv, "loop1"), args, environ), ELOOP);
	CHECK_ERR(execve(bad_addr(), args, environ), EFAULT);
	CHECK_ERR(execve(argv[0], bad_addr(), environ), EFAULT);
	return 0;
}
