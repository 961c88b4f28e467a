// subreaper: with PR_SET_CHILD_SUBREAPER, orphaned descendants are
// reparented to this process (their getppid becomes our pid) and it can wait
// for them; the attribute reads back with PR_GET_CHILD_SUBREAPER and is not
// inherited by fork.
//
//go:build ignore

#include "task_check.h"

int main(void) {
	int v = -1;
	CHECK_OK(prctl(PR_GET_CHILD_SUBREAPER, &v));
	CHECK_EQ(v, 0);
	CHECK_OK(prctl(PR_SET_CHILD_SUBREAPER, 1));
	CHECK_OK(prctl(PR_GET_CHILD_SUBREAPER, &v));
	CHECK_EQ(v, 1);

	int rep[2];
	CHECK_OK(pipe(rep));
	pid_t top = getpid();
	pid_t mid = XFORK();
	if (mid == 0) {
		int w = -1;
		CHECK_OK(prctl(PR_GET_CHILD_SUBREAPER, &w));
		CHECK_EQ(w, 0);
		pid_t gc = XFORK();
		if (gc == 0) {
			pid_t me = getppid();
			CHECK_EQ(write(rep[1], &me, sizeof me), sizeof me);
			for (int i = 0; i < 2000 && getppid() == me; i++)
				msleep(1);
			_exit(getppid() == top ? 33 : 34);
		}
		pid_t first;
		CHECK_EQ(read(rep[0], &first, sizeof first), sizeof first); // gc is running
		CHECK_EQ(first, getpid());
		CHECK_EQ(write(rep[1], &gc, sizeof gc), sizeof gc);
		_exit(0);
	}
	WAIT_EXIT(mid, 0);
	pid_t gc;
	CHECK_EQ(read(rep[0], &gc, sizeof gc), sizeof gc);
	WAIT_EXIT(gc, 33); // reparented to us, and ours to reap
	CHECK_ERR(wait(NULL), ECHILD);

	CHECK_OK(prctl(PR_SET_CHILD_SUBREAPER, 0));
	CHECK_OK(prctl(PR_GET_CHILD_SUBREAPER, &v));
	CHECK_EQ(v, 0);
	return 0;
}
