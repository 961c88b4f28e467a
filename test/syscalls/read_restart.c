// read_restart: blocking read(2)s that a handler installed with SA_RESTART
// interrupts are restarted and return their bytes in order, never EINTR:
// once while the process has had one thread only, and once after it
// started a second (glibc's read then takes its other path). In the
// sandbox both paths are patched system-call sites, so each restart lands
// on patched code.
//
//go:build ignore

#include "task_check.h"
#include <signal.h>
#include <sys/wait.h>

enum { BYTES = 60, KICKS = 3 };

static volatile sig_atomic_t handled;

static void on_usr1(int sig) {
	(void)sig;
	handled++;
}

static void *idle(void *arg) { return arg; }

// reads has a child signal this process KICKS times before each byte it
// writes down a pipe, and reads the bytes one by one.
static void reads(int round) {
	int p[2];
	CHECK_OK(pipe(p));
	pid_t parent = getpid();
	pid_t child = fork();
	CHECK(child >= 0);
	if (child == 0) {
		close(p[0]);
		for (int i = 0; i < BYTES; i++) {
			for (int k = 0; k < KICKS; k++) {
				kill(parent, SIGUSR1);
				usleep(200);
			}
			char c = (char)(round * BYTES + i);
			if (write(p[1], &c, 1) != 1)
				_exit(2);
		}
		_exit(0);
	}
	close(p[1]);
	for (int i = 0; i < BYTES; i++) {
		char c = 0;
		CHECK_EQ(read(p[0], &c, 1), 1);
		CHECK_EQ(c, (char)(round * BYTES + i));
	}
	char c;
	CHECK_EQ(read(p[0], &c, 1), 0);
	int status;
	CHECK_EQ(waitpid(child, &status, 0), child);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(p[0]);
}

int main(void) {
	struct sigaction sa = {0};
	sa.sa_handler = on_usr1;
	sa.sa_flags = SA_RESTART;
	CHECK_OK(sigaction(SIGUSR1, &sa, NULL));
	reads(0);
	pthread_t t;
	CHECK_EQ(pthread_create(&t, NULL, idle, NULL), 0);
	CHECK_EQ(pthread_join(t, NULL), 0);
	reads(1);
	CHECK(handled > 0);
	return 0;
}
