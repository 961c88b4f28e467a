// fs_signalfd: a signalfd for blocked signals becomes readable when one is
// pending (poll POLLIN), read returns a signalfd_siginfo with the signal
// number, sender pid/uid and sigqueue value and consumes it; without a
// pending signal a non-blocking read is EAGAIN; re-calling signalfd on the
// fd updates the mask; buffers under 128 bytes are EINVAL.
//
//go:build ignore

#include "fs_check.h"
#include <sys/signalfd.h>

int main(void) {
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGRTMIN);
	CHECK_OK(sigprocmask(SIG_BLOCK, &set, NULL));
	sigset_t only1;
	sigemptyset(&only1);
	sigaddset(&only1, SIGUSR1);
	int fd = signalfd(-1, &only1, SFD_NONBLOCK | SFD_CLOEXEC);
	CHECK(fd >= 0);
	struct signalfd_siginfo si;
	CHECK_ERR(read(fd, &si, sizeof si), EAGAIN);
	CHECK_EQ(wait_fd(fd, POLLIN, 0), 0);

	CHECK_OK(kill(getpid(), SIGUSR1));
	CHECK_EQ(wait_fd(fd, POLLIN, 2000) & POLLIN, POLLIN);
	CHECK_ERR(read(fd, &si, 100), EINVAL);
	CHECK_EQ(read(fd, &si, sizeof si), (ssize_t)sizeof si);
	CHECK_EQ(si.ssi_signo, SIGUSR1);
	CHECK_EQ(si.ssi_pid, getpid());
	CHECK_EQ(si.ssi_uid, getuid());
	CHECK_EQ(si.ssi_code, SI_USER);
	CHECK_ERR(read(fd, &si, sizeof si), EAGAIN); // consumed

	// A signal outside the mask is not reported.
	union sigval v = {.sival_int = 4242};
	CHECK_OK(sigqueue(getpid(), SIGRTMIN, v));
	CHECK_EQ(wait_fd(fd, POLLIN, 0), 0);
	// Widen the mask on the same fd: now it is.
	CHECK_EQ(signalfd(fd, &set, 0), fd);
	CHECK_EQ(read(fd, &si, sizeof si), (ssize_t)sizeof si);
	CHECK_EQ(si.ssi_signo, SIGRTMIN);
	CHECK_EQ(si.ssi_code, SI_QUEUE);
	CHECK_EQ(si.ssi_int, 4242);

	// Several pending signals come out in one read with a big buffer.
	CHECK_OK(kill(getpid(), SIGUSR1));
	CHECK_OK(sigqueue(getpid(), SIGRTMIN, v));
	struct signalfd_siginfo two[4];
	CHECK_EQ(read(fd, two, sizeof two), 2 * (ssize_t)sizeof si);
	CHECK_EQ(two[0].ssi_signo, SIGUSR1);
	CHECK_EQ(two[1].ssi_signo, SIGRTMIN);

	// sigpending agrees that nothing is left.
	sigset_t pend;
	CHECK_OK(sigpending(&pend));
	CHECK(!sigismember(&pend, SIGUSR1) && !sigismember(&pend, SIGRTMIN));
	CHECK_ERR(signalfd(-1, &set, 0x4), EINVAL);
	CHECK_ERR(signalfd(0, &set, 0), EINVAL); // not a signalfd
	close(fd);
	return 0;
}
