// sig_sigqueue: sigqueue delivers si_code SI_QUEUE with the sender's
// si_value; blocked real-time signals queue every instance (delivered in
// order, lowest signal number first, each with its own value) while a blocked
// standard signal is pending only once; rt_sigqueueinfo may not fake a
// kernel or SI_USER code towards another process (EPERM).
//
//go:build ignore

#include "task_check.h"

enum { MAX = 16 };
static volatile int n;
static volatile int sigs[MAX], vals[MAX], codes[MAX], pids[MAX];

static void handler(int sig, siginfo_t *si, void *uc) {
	(void)uc;
	if (n < MAX) {
		sigs[n] = sig;
		vals[n] = si->si_value.sival_int;
		codes[n] = si->si_code;
		pids[n] = si->si_pid;
	}
	n++;
}

int main(void) {
	int r1 = SIGRTMIN + 1, r2 = SIGRTMIN + 2;
	// Each handler blocks all three, so deliveries do not nest and the
	// handlers run in delivery order.
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = handler;
	sa.sa_flags = SA_SIGINFO;
	sigaddset(&sa.sa_mask, SIGUSR1);
	sigaddset(&sa.sa_mask, r1);
	sigaddset(&sa.sa_mask, r2);
	CHECK_OK(sigaction(SIGUSR1, &sa, NULL));
	CHECK_OK(sigaction(r1, &sa, NULL));
	CHECK_OK(sigaction(r2, &sa, NULL));

	union sigval v = {.sival_int = 77};
	CHECK_OK(sigqueue(getpid(), SIGUSR1, v));
	CHECK_EQ(n, 1);
	CHECK_EQ(codes[0], SI_QUEUE);
	CHECK_EQ(vals[0], 77);
	CHECK_EQ(pids[0], getpid());

	sigset_t m;
	sigemptyset(&m);
	sigaddset(&m, SIGUSR1);
	sigaddset(&m, r1);
	sigaddset(&m, r2);
	CHECK_OK(sigprocmask(SIG_BLOCK, &m, NULL));
	n = 0;
	for (int i = 0; i < 3; i++) {
		v.sival_int = 200 + i;
		CHECK_OK(sigqueue(getpid(), r2, v));
		v.sival_int = 100 + i;
		CHECK_OK(sigqueue(getpid(), r1, v));
		CHECK_OK(sigqueue(getpid(), SIGUSR1, v));
	}
	CHECK_EQ(n, 0);
	CHECK_OK(sigprocmask(SIG_UNBLOCK, &m, NULL));
	CHECK_EQ(n, 7); // one SIGUSR1, three of each real-time signal
	CHECK_EQ(sigs[0], SIGUSR1);
	CHECK_EQ(vals[0], 100); // the first one queued
	for (int i = 0; i < 3; i++) {
		CHECK_EQ(sigs[1 + i], r1);
		CHECK_EQ(vals[1 + i], 100 + i);
		CHECK_EQ(sigs[4 + i], r2);
		CHECK_EQ(vals[4 + i], 200 + i);
		CHECK_EQ(codes[4 + i], SI_QUEUE);
	}

	// Faking the code: allowed to oneself, EPERM towards another process.
	siginfo_t si;
	memset(&si, 0, sizeof si);
	si.si_signo = SIGUSR1;
	si.si_code = SI_USER;
	pid_t pid = XFORK();
	if (pid == 0) {
		for (;;)
			pause();
	}
	CHECK_ERR(syscall(SYS_rt_sigqueueinfo, pid, SIGUSR1, &si), EPERM);
	si.si_code = SI_KERNEL;
	CHECK_ERR(syscall(SYS_rt_sigqueueinfo, pid, SIGUSR1, &si), EPERM);
	CHECK_OK(kill(pid, SIGKILL));
	WAIT_KILLED(pid, SIGKILL);
	n = 0;
	si.si_code = SI_QUEUE;
	si.si_value.sival_int = 5;
	si.si_pid = getpid();
	si.si_uid = getuid();
	CHECK_OK(syscall(SYS_rt_sigqueueinfo, getpid(), SIGUSR1, &si));
	CHECK_EQ(n, 1);
	CHECK_EQ(vals[0], 5);
	return 0;
}
