// umask_fork: the file mode creation mask is inherited by fork children and
// kept across execve, and a child's change does not affect its parent;
// threads share it (CLONE_FS).
//
//go:build ignore

#include "task_check.h"

static void *thread_set(void *arg) {
	(void)arg;
	umask(0023);
	return NULL;
}

int main(int argc, char **argv) {
	if (argc > 2 && strcmp(argv[2], "after-exec") == 0)
		return umask(0) == 0077 ? 0 : 1;

	umask(0027);
	pid_t pid = XFORK();
	if (pid == 0) {
		if (umask(0077) != 0027)
			_exit(1);
		reexec(argv, "after-exec", NULL, NULL);
	}
	WAIT_EXIT(pid, 0);
	CHECK_EQ(umask(0027), 0027);

	pthread_t t;
	CHECK_EQ(pthread_create(&t, NULL, thread_set, NULL), 0);
	CHECK_EQ(pthread_join(t, NULL), 0);
	CHECK_EQ(umask(0022), 0023);
	return 0;
}
