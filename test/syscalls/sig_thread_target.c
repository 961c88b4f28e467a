// sig_thread_target: a process-directed signal (kill) goes to a thread that
// does not block it, so with the main thread blocking it the handler runs on
// another thread; when every thread blocks it, it stays pending for the
// process (sigpending in any thread shows it) and is delivered to the first
// thread that unblocks it. A thread-directed signal (tgkill) stays with its
// target: other threads do not see it pending.
//
//go:build ignore

#include "task_check.h"

static volatile int hits;
static volatile pid_t handler_tid;
static void handler(int sig, siginfo_t *si, void *uc) {
	(void)sig, (void)si, (void)uc;
	handler_tid = gettid();
	__atomic_add_fetch(&hits, 1, __ATOMIC_SEQ_CST);
}

static int cmd[2], ack[2];
static pid_t worker_tid;

// worker obeys one-letter commands: b = block SIGUSR1, p = report whether
// SIGUSR1 is pending, q = quit.
static void *worker(void *arg) {
	(void)arg;
	worker_tid = gettid();
	for (;;) {
		char c;
		if (read(cmd[0], &c, 1) != 1)
			continue; // interrupted by the handler
		char r = 'k';
		if (c == 'b') {
			block(SIGUSR1, SIG_BLOCK);
		} else if (c == 'p') {
			sigset_t p;
			sigpending(&p);
			r = sigismember(&p, SIGUSR1) ? 'y' : 'n';
		}
		(void)!write(ack[1], &r, 1);
		if (c == 'q')
			return NULL;
	}
}

static char ask(char c) {
	char r = 0;
	CHECK_EQ(write(cmd[1], &c, 1), 1);
	CHECK_EQ(read(ack[0], &r, 1), 1);
	return r;
}

static int pending_here(void) {
	sigset_t p;
	CHECK_OK(sigpending(&p));
	return sigismember(&p, SIGUSR1);
}

int main(void) {
	install(SIGUSR1, handler, SA_RESTART);
	CHECK_OK(pipe(cmd));
	CHECK_OK(pipe(ack));
	pthread_t t;
	CHECK_EQ(pthread_create(&t, NULL, worker, NULL), 0);
	CHECK_EQ(ask('p'), 'n'); // the worker is up
	block(SIGUSR1, SIG_BLOCK); // main blocks, the worker does not

	for (int round = 0; round < 3; round++) {
		int before = hits;
		CHECK_OK(kill(getpid(), SIGUSR1));
		for (int i = 0; hits == before; i++) {
			CHECK(i < 5000);
			usleep(1000);
		}
		CHECK_EQ(handler_tid, worker_tid);
	}

	// Everyone blocks: pending for the process.
	CHECK_EQ(ask('b'), 'k');
	int before = hits;
	CHECK_OK(kill(getpid(), SIGUSR1));
	msleep(20);
	CHECK_EQ(hits, before);
	CHECK(pending_here());
	CHECK_EQ(ask('p'), 'y');
	block(SIGUSR1, SIG_UNBLOCK); // delivered here, at once
	CHECK_EQ(hits, before + 1);
	CHECK_EQ(handler_tid, gettid());
	CHECK_EQ(ask('p'), 'n');

	// Thread-directed at the (blocking) worker: not ours.
	CHECK_OK(syscall(SYS_tgkill, getpid(), worker_tid, SIGUSR1));
	CHECK_EQ(ask('p'), 'y');
	CHECK(!pending_here());
	msleep(20);
	CHECK_EQ(hits, before + 1);
	CHECK_EQ(ask('q'), 'k');
	CHECK_EQ(pthread_join(t, NULL), 0);
	return 0;
}
