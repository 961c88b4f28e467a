// enosys: syscall numbers that do not exist (past the end of the table,
// negative) fail with ENOSYS and leave the process healthy; sched_yield
// succeeds. (Numbers in the table's gaps are not used: container seccomp
// profiles on the host may answer those with EPERM or SIGSYS.)
//
//go:build ignore

#include "check.h"
#include <sched.h>

int main(void) {
	long nrs[] = {1000, 1023, 4096, 100000, 0x7fffffff, -1, -2};
	for (unsigned i = 0; i < sizeof nrs / sizeof nrs[0]; i++) {
		errno = 0;
		long r = syscall(nrs[i], 1, 2, 3, 4, 5, 6);
		if (r != -1 || errno != ENOSYS)
			FAIL("syscall(%ld) (got %ld errno %d %s want -1 ENOSYS)", nrs[i], r, errno, errname(errno));
	}
	CHECK_EQ(sched_yield(), 0);
	CHECK_EQ(syscall(SYS_sched_yield), 0);
	CHECK_EQ(syscall(SYS_getpid), getpid()); // still fine
	return 0;
}
