// sig_tgkill: tgkill/tkill direct a signal at one thread: the handler runs
// on that thread (gettid) with si_code SI_TKILL and the sender's pid; to
// oneself it is delivered before the call returns; raise() is tgkill.
//
//go:build ignore

#include "task_check.h"

static volatile int hits, h_code, h_pid, h_tid, h_sig;

static void handler(int sig, siginfo_t *si, void *uc) {
	(void)uc;
	h_sig = sig;
	h_code = si->si_code;
	h_pid = si->si_pid;
	h_tid = gettid();
	__atomic_add_fetch(&hits, 1, __ATOMIC_SEQ_CST);
}

static pid_t worker_tid;
static int release[2];

static void *worker(void *arg) {
	(void)arg;
	__atomic_store_n(&worker_tid, gettid(), __ATOMIC_RELEASE);
	char c;
	(void)!read(release[0], &c, 1); // handlers may interrupt; SA_RESTART resumes
	return NULL;
}

int main(void) {
	install(SIGUSR1, handler, SA_RESTART);
	CHECK_EQ(syscall(SYS_tgkill, getpid(), gettid(), SIGUSR1), 0);
	CHECK_EQ(hits, 1);
	CHECK_EQ(h_code, SI_TKILL);
	CHECK_EQ(h_pid, getpid());
	CHECK_EQ(h_tid, gettid());
	CHECK_EQ(syscall(SYS_tkill, gettid(), SIGUSR1), 0);
	CHECK_EQ(hits, 2);
	CHECK_EQ(h_code, SI_TKILL);
	CHECK_EQ(raise(SIGUSR1), 0);
	CHECK_EQ(hits, 3);
	CHECK_EQ(h_code, SI_TKILL);

	CHECK_OK(pipe(release));
	pthread_t t;
	CHECK_EQ(pthread_create(&t, NULL, worker, NULL), 0);
	while (!__atomic_load_n(&worker_tid, __ATOMIC_ACQUIRE))
		msleep(1);
	for (int round = 0; round < 5; round++) {
		int before = __atomic_load_n(&hits, __ATOMIC_SEQ_CST);
		CHECK_EQ(syscall(SYS_tgkill, getpid(), worker_tid, SIGUSR1), 0);
		for (int i = 0; __atomic_load_n(&hits, __ATOMIC_SEQ_CST) == before; i++) {
			CHECK(i < 5000);
			usleep(1000);
		}
		CHECK_EQ(h_tid, worker_tid);
		CHECK_EQ(h_sig, SIGUSR1);
		CHECK_EQ(h_code, SI_TKILL);
	}
	CHECK_EQ(pthread_kill(t, SIGUSR1), 0);
	for (int i = 0; __atomic_load_n(&hits, __ATOMIC_SEQ_CST) != 9; i++) {
		CHECK(i < 5000);
		usleep(1000);
	}
	CHECK_EQ(h_tid, worker_tid);
	CHECK_EQ(write(release[1], "x", 1), 1);
	CHECK_EQ(pthread_join(t, NULL), 0);
	return 0;
}
