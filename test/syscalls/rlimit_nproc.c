// rlimit_nproc: RLIMIT_NPROC caps the processes (and threads) of a real uid:
// a process that switched to an otherwise unused uid with the limit at 3 can
// fork twice more, then fork fails with EAGAIN (so does pthread_create);
// with the limit at 0 every fork fails. Root (CAP_SYS_RESOURCE) is exempt,
// so the interesting half needs to start as root.
//
//go:build ignore

#include "task_check.h"

int main(void) {
	pid_t pid = XFORK();
	if (pid == 0) {
		struct rlimit r = {0, 0};
		if (geteuid() != 0) {
			CHECK_OK(setrlimit(RLIMIT_NPROC, &r));
			CHECK_ERR(fork(), EAGAIN);
			_exit(0);
		}
		CHECK_OK(setresgid(54321, 54321, 54321));
		CHECK_OK(setresuid(54321, 54321, 54321)); // nobody else has it
		r.rlim_cur = r.rlim_max = 3;
		CHECK_OK(setrlimit(RLIMIT_NPROC, &r));
		int hold[2];
		CHECK_OK(pipe(hold));
		pid_t kids[2];
		for (int i = 0; i < 2; i++) {
			kids[i] = XFORK();
			if (kids[i] == 0) {
				char c;
				close(hold[1]);
				(void)!read(hold[0], &c, 1);
				_exit(0);
			}
		}
		CHECK_ERR(fork(), EAGAIN);
		pthread_t t;
		CHECK_EQ(pthread_create(&t, NULL, (void *(*)(void *))pause, NULL), EAGAIN);
		close(hold[1]);
		for (int i = 0; i < 2; i++)
			WAIT_EXIT(kids[i], 0);
		pid_t again = XFORK(); // room again
		if (again == 0)
			_exit(0);
		WAIT_EXIT(again, 0);
		r.rlim_cur = r.rlim_max = 0;
		CHECK_OK(setrlimit(RLIMIT_NPROC, &r));
		CHECK_ERR(fork(), EAGAIN);
		_exit(0);
	}
	WAIT_EXIT(pid, 0);
	return 0;
}
