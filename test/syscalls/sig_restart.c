// sig_restart: a signal handled while read blocks on an empty pipe makes it
// fail with EINTR, unless the handler has SA_RESTART: then read is restarted
// and returns the data that comes later. poll and nanosleep are never
// restarted (EINTR even with SA_RESTART; nanosleep reports the time left).
//
//go:build ignore

#include "task_check.h"
#include <poll.h>

static volatile int hits;
static void handler(int sig, siginfo_t *si, void *uc) {
	(void)sig, (void)si, (void)uc;
	hits++;
}

// pester starts a child that sends SIGUSR1 to us every 10 ms until we write
// to its ack pipe (then it writes "data" to out if given, and exits).
static pid_t pester(int *ack, int out, int count) {
	CHECK_OK(pipe2(ack, O_NONBLOCK));
	pid_t parent = getpid();
	pid_t pid = XFORK();
	if (pid == 0) {
		for (int i = 0; i < 500; i++) {
			char c;
			if (read(ack[0], &c, 1) == 1)
				_exit(0);
			if (count && i == count) {
				_exit(write(out, "data", 4) == 4 ? 0 : 3);
			}
			kill(parent, SIGUSR1);
			msleep(10);
		}
		_exit(4); // never acknowledged
	}
	return pid;
}

static void done(pid_t pid, int *ack) {
	CHECK_EQ(write(ack[1], "a", 1), 1);
	WAIT_EXIT(pid, 0);
	close(ack[0]);
	close(ack[1]);
}

int main(void) {
	int p[2], ack[2];
	CHECK_OK(pipe(p));
	char buf[8];

	install(SIGUSR1, handler, 0);
	pid_t pid = pester(ack, -1, 0);
	CHECK_ERR(read(p[0], buf, sizeof buf), EINTR);
	CHECK(hits >= 1);
	done(pid, ack);

	install(SIGUSR1, handler, SA_RESTART);
	hits = 0;
	pid = pester(ack, p[1], 5); // five signals, then the data
	CHECK_EQ(read(p[0], buf, sizeof buf), 4);
	CHECK_MEM(buf, "data", 4);
	CHECK(hits >= 2); // so at least one arrived while read was blocked
	WAIT_EXIT(pid, 0);
	close(ack[0]);
	close(ack[1]);

	struct pollfd pf = {p[0], POLLIN, 0};
	pid = pester(ack, -1, 0);
	CHECK_ERR(poll(&pf, 1, 10000), EINTR);
	done(pid, ack);

	pid = pester(ack, -1, 0);
	struct timespec ts = {10, 0}, rem = {0, 0};
	CHECK_ERR(nanosleep(&ts, &rem), EINTR);
	// Linux reports the time left to the timer's hard expiry: the
	// request plus the task's timer slack (50 µs by default), so a
	// signal within the slack of the call leaves rem just over 10 s.
	CHECK(rem.tv_sec < 10 || (rem.tv_sec == 10 && rem.tv_nsec <= 1000000));
	CHECK(rem.tv_sec > 0 || rem.tv_nsec > 0);
	done(pid, ack);
	return 0;
}
