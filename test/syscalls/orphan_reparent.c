// orphan_reparent: when a process dies, its children are reparented: the
// orphan's getppid() changes from the dead parent to the reaper (init of the
// pid namespace or a subreaper). In the sandbox the test itself may be pid 1,
// and then the orphan must become its child and be reaped by it.
//
//go:build ignore

#include "task_check.h"

int main(void) {
	int rep[2], hold[2], ready[2];
	CHECK_OK(pipe(rep));
	CHECK_OK(pipe(hold));
	CHECK_OK(pipe(ready));
	pid_t mid = XFORK();
	if (mid == 0) {
		pid_t orphan = XFORK();
		if (orphan == 0) {
			close(hold[1]);
			pid_t before = getppid();
			CHECK_EQ(write(ready[1], "r", 1), 1);
			char c;
			CHECK_EQ(read(hold[0], &c, 1), 0); // EOF: the middle process is gone
			pid_t after = before;
			for (int i = 0; i < 2000 && after == before; i++) {
				msleep(1);
				after = getppid();
			}
			pid_t r[3] = {before, after, getpid()};
			CHECK_EQ(write(rep[1], r, sizeof r), sizeof r);
			_exit(0);
		}
		char c;
		CHECK_EQ(read(ready[0], &c, 1), 1); // it has seen us as its parent
		_exit(0); // orphans the child; closes our end of hold
	}
	close(hold[0]);
	close(hold[1]);
	close(rep[1]);
	WAIT_EXIT(mid, 0);
	pid_t r[3];
	CHECK_EQ(read(rep[0], r, sizeof r), sizeof r);
	CHECK_EQ(r[0], mid);
	CHECK(r[1] != mid);
	CHECK(r[1] > 0);
	if (getpid() == 1) {
		CHECK_EQ(r[1], 1);
		WAIT_EXIT(r[2], 0);
	} else {
		CHECK_ERR(waitpid(r[2], NULL, 0), ECHILD); // not ours
	}
	char c;
	CHECK_EQ(read(rep[0], &c, 1), 0); // the orphan has exited
	return 0;
}
