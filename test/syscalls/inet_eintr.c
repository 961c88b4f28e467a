// inet_eintr: a blocking TCP recv interrupted by a signal whose handler
// has no SA_RESTART fails with EINTR; with SA_RESTART it is restarted and
// gets the data sent later; with SA_RESTART but SO_RCVTIMEO set it is
// EINTR again (Linux's sock_intr_errno).
//
//go:build ignore

#include "inet_check.h"
#include "task_check.h"
#include <signal.h>
#include <sys/time.h>

static volatile sig_atomic_t hits;
static void on_alarm(int sig) { hits++; }

static void arm(int restart) {
	struct sigaction sa = {.sa_handler = on_alarm, .sa_flags = restart ? SA_RESTART : 0};
	sigemptyset(&sa.sa_mask);
	CHECK_OK(sigaction(SIGALRM, &sa, NULL));
	struct itimerval it = {.it_value = {.tv_usec = 50000}};
	CHECK_OK(setitimer(ITIMER_REAL, &it, NULL));
}

int main(void) {
	int c, a;
	tcp_pair(AF_INET, &c, &a);
	char b;
	arm(0);
	CHECK_ERR(recv(a, &b, 1, 0), EINTR);
	CHECK_EQ(hits, 1);

	pid_t pid = XFORK();
	if (pid == 0) {
		msleep(300);
		CHECK_EQ(write(c, "r", 1), 1);
		_exit(0);
	}
	arm(1);
	CHECK_EQ(recv(a, &b, 1, 0), 1);
	CHECK_EQ(b, 'r');
	CHECK_EQ(hits, 2);
	WAIT_EXIT(pid, 0);

	struct timeval tv = {.tv_sec = 10};
	CHECK_OK(setsockopt(a, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv));
	arm(1);
	CHECK_ERR(recv(a, &b, 1, 0), EINTR);
	CHECK_EQ(hits, 3);
	return 0;
}
