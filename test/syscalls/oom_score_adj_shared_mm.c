// oom_score_adj_shared_mm: processes that share their memory
// (clone(CLONE_VM) without CLONE_THREAD) share oom_score_adj: a write by
// one is seen by the other, as __set_oom_adj updates every process
// using the mm (the OOM killer would take them together); a process
// with memory of its own (fork) keeps its value.
//
//go:build ignore

#include "task_check.h"
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>

static volatile int step;

static int readAdj(pid_t pid) {
	char path[64], buf[16];
	snprintf(path, sizeof path, "/proc/%d/oom_score_adj", pid);
	CHECK(read_text(path, buf, sizeof buf) > 0);
	return atoi(buf);
}

static void writeAdj(int v) {
	char buf[16];
	int n = snprintf(buf, sizeof buf, "%d", v);
	int fd = open("/proc/self/oom_score_adj", O_WRONLY);
	CHECK(fd >= 0);
	CHECK_EQ(write(fd, buf, n), n);
	close(fd);
}

static int child(void *arg) {
	(void)arg;
	while (step == 0)
		;
	_exit(0);
}

int main(void) {
	writeAdj(100);
	pid_t forked = fork();
	CHECK(forked >= 0);
	if (forked == 0) {
		pause();
		_exit(0);
	}
	static char stack[1 << 16];
	pid_t sharer = clone(child, stack + sizeof stack, CLONE_VM | SIGCHLD, NULL);
	CHECK(sharer > 0);
	CHECK_EQ(readAdj(sharer), 100);
	writeAdj(300);
	CHECK_EQ(readAdj(getpid()), 300);
	CHECK_EQ(readAdj(sharer), 300);
	CHECK_EQ(readAdj(forked), 100);
	step = 1;
	CHECK_EQ(waitpid(sharer, NULL, 0), sharer);
	kill(forked, SIGKILL);
	CHECK_EQ(waitpid(forked, NULL, 0), forked);
	return 0;
}
