// prctl_pdeathsig: PR_SET_PDEATHSIG makes the kernel send the chosen signal
// when the parent dies (the orphan gets it, with its new parent already in
// place); PR_GET_PDEATHSIG reads it back; it is cleared in fork children;
// an invalid signal is EINVAL.
//
//go:build ignore

#include "task_check.h"

int main(void) {
	int sig = -1;
	CHECK_OK(prctl(PR_GET_PDEATHSIG, &sig));
	CHECK_EQ(sig, 0);
	CHECK_ERR(prctl(PR_SET_PDEATHSIG, 65), EINVAL);
	CHECK_OK(prctl(PR_SET_PDEATHSIG, SIGUSR2));
	CHECK_OK(prctl(PR_GET_PDEATHSIG, &sig));
	CHECK_EQ(sig, SIGUSR2);
	pid_t pid = XFORK();
	if (pid == 0) {
		int s = -1;
		prctl(PR_GET_PDEATHSIG, &s);
		_exit(s == 0 ? 0 : 1); // not inherited
	}
	WAIT_EXIT(pid, 0);
	CHECK_OK(prctl(PR_SET_PDEATHSIG, 0));

	// top -> mid -> orphan; mid exits; the orphan must get SIGUSR1.
	int rep[2], ready[2];
	CHECK_OK(pipe(rep));
	CHECK_OK(pipe(ready));
	pid_t mid = XFORK();
	if (mid == 0) {
		pid_t me = getpid();
		pid_t o = XFORK();
		if (o == 0) {
			block(SIGUSR1, SIG_BLOCK);
			CHECK_OK(prctl(PR_SET_PDEATHSIG, SIGUSR1));
			char r = getppid() == me ? 'r' : 'x';
			CHECK_EQ(write(ready[1], &r, 1), 1);
			sigset_t w;
			sigemptyset(&w);
			sigaddset(&w, SIGUSR1);
			siginfo_t si;
			struct timespec to = {5, 0};
			int got = sigtimedwait(&w, &si, &to);
			int res[3] = {got, si.si_pid, getppid() != me};
			CHECK_EQ(write(rep[1], res, sizeof res), sizeof res);
			_exit(0);
		}
		char c;
		CHECK_EQ(read(ready[0], &c, 1), 1);
		_exit(c == 'r' ? 0 : 1);
	}
	close(rep[1]);
	WAIT_EXIT(mid, 0);
	int res[3];
	CHECK_EQ(read(rep[0], res, sizeof res), sizeof res);
	CHECK_EQ(res[0], SIGUSR1);
	CHECK_EQ(res[1], mid); // sent "by" the dying parent
	CHECK_EQ(res[2], 1);   // and already reparented
	if (getpid() == 1)
		waitpid(-1, NULL, 0); // the orphan became ours
	return 0;
}
