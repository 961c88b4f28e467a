// sig_nested: a handler can be interrupted by a different, unblocked signal
// (its handler runs nested, on top, and returns into the first one), but
// not by a signal in its sa_mask, which waits until the handler returns; the
// mask during a handler is the old mask | sa_mask | the signal.
//
//go:build ignore

#include "task_check.h"

static volatile char log_[32];
static volatile int logn;
static sigset_t in_usr1;

static void on_usr1(int sig, siginfo_t *si, void *uc) {
	(void)sig, (void)si, (void)uc;
	log_[logn++] = '1';
	sigprocmask(SIG_BLOCK, NULL, &in_usr1);
	raise(SIGUSR2); // nests
	raise(SIGHUP);  // in sa_mask: deferred
	log_[logn++] = '/';
}

static void on_other(int sig, siginfo_t *si, void *uc) {
	(void)si, (void)uc;
	log_[logn++] = sig == SIGUSR2 ? '2' : 'H';
}

int main(void) {
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_usr1;
	sa.sa_flags = SA_SIGINFO;
	sigaddset(&sa.sa_mask, SIGHUP);
	CHECK_OK(sigaction(SIGUSR1, &sa, NULL));
	install(SIGUSR2, on_other, 0);
	install(SIGHUP, on_other, 0);
	sigset_t m;
	sigemptyset(&m);
	sigaddset(&m, SIGWINCH);
	CHECK_OK(sigprocmask(SIG_BLOCK, &m, NULL));

	CHECK_OK(raise(SIGUSR1));
	log_[logn] = 0;
	CHECK(strcmp((const char *)log_, "12/H") == 0);
	CHECK(sigismember(&in_usr1, SIGUSR1));
	CHECK(sigismember(&in_usr1, SIGHUP));
	CHECK(sigismember(&in_usr1, SIGWINCH));
	CHECK(!sigismember(&in_usr1, SIGUSR2));
	sigset_t now;
	CHECK_OK(sigprocmask(SIG_BLOCK, NULL, &now));
	CHECK(sigismember(&now, SIGWINCH));
	CHECK(!sigismember(&now, SIGHUP));
	CHECK(!sigismember(&now, SIGUSR1));
	return 0;
}
