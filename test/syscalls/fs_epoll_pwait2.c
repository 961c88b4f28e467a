// fs_epoll_pwait2: epoll_pwait2 takes a timespec timeout (NULL waits, zero
// polls, a short one expires with 0 after at least that long), refuses an
// invalid timespec with EINVAL and an unreadable one with EFAULT, reports
// ready descriptors, applies its signal mask for the wait (a signal the
// caller blocks but the mask allows interrupts it with EINTR), and checks
// maxevents and the epoll descriptor like epoll_wait.
//
//go:build ignore

#include "fs_check.h"
#include <signal.h>
#include <sys/epoll.h>
#include <time.h>

static long pwait2(int ep, struct epoll_event *ev, int max, const struct timespec *ts, const sigset_t *mask) {
	return syscall(SYS_epoll_pwait2, ep, ev, max, ts, mask, mask ? 8 : 0);
}

static volatile sig_atomic_t got_usr1;
static void on_usr1(int sig) {
	(void)sig;
	got_usr1 = 1;
}

int main(void) {
	int p[2];
	CHECK_OK(pipe(p));
	int ep = epoll_create1(EPOLL_CLOEXEC);
	CHECK(ep >= 0);
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 0x1234};
	CHECK_OK(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev));
	struct epoll_event out[4];

	struct timespec zero = {0, 0};
	CHECK_EQ(pwait2(ep, out, 4, &zero, NULL), 0);
	struct timespec short_wait = {0, 50 * 1000 * 1000};
	long long t0 = now_ns(CLOCK_MONOTONIC);
	CHECK_EQ(pwait2(ep, out, 4, &short_wait, NULL), 0);
	CHECK(now_ns(CLOCK_MONOTONIC) - t0 >= 50 * 1000 * 1000);

	CHECK_EQ(write(p[1], "x", 1), 1);
	CHECK_EQ(pwait2(ep, out, 4, NULL, NULL), 1);
	CHECK_EQ(out[0].data.u64, 0x1234);
	CHECK(out[0].events & EPOLLIN);
	CHECK_EQ(pwait2(ep, out, 4, &zero, NULL), 1);

	struct timespec bad = {0, 1000000000};
	CHECK_ERR(pwait2(ep, out, 4, &bad, NULL), EINVAL);
	struct timespec neg = {-1, 0};
	CHECK_ERR(pwait2(ep, out, 4, &neg, NULL), EINVAL);
	CHECK_ERR(pwait2(ep, out, 4, (void *)1, NULL), EFAULT);
	CHECK_ERR(pwait2(ep, out, 0, &zero, NULL), EINVAL);
	CHECK_ERR(pwait2(p[0], out, 4, &zero, NULL), EINVAL);
	CHECK_ERR(pwait2(999, out, 4, &zero, NULL), EBADF);
	sigset_t none;
	sigemptyset(&none);
	CHECK_ERR(syscall(SYS_epoll_pwait2, ep, out, 4, &zero, &none, 4), EINVAL);

	// Drain, then wait with SIGUSR1 blocked in the thread but allowed by
	// the call's mask: the pending signal interrupts the wait.
	char c;
	CHECK_EQ(read(p[0], &c, 1), 1);
	struct sigaction sa = {.sa_handler = on_usr1};
	CHECK_OK(sigaction(SIGUSR1, &sa, NULL));
	sigset_t usr1;
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	CHECK_OK(sigprocmask(SIG_BLOCK, &usr1, NULL));
	CHECK_OK(kill(getpid(), SIGUSR1));
	CHECK(!got_usr1);
	struct timespec second = {1, 0};
	CHECK_ERR(pwait2(ep, out, 4, &second, &none), EINTR);
	CHECK(got_usr1);
	// The thread's own mask is back: SIGUSR1 is blocked again.
	sigset_t cur;
	CHECK_OK(sigprocmask(SIG_BLOCK, NULL, &cur));
	CHECK(sigismember(&cur, SIGUSR1));
	return 0;
}
