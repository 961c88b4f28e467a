// tid_address: set_tid_address returns the caller's tid (and accepts NULL);
// set_robust_list accepts the real list header size and rejects any other
// with EINVAL.
//
//go:build ignore

#include "check.h"
#include <linux/futex.h>

int main(void) {
	static int tid_slot;
	CHECK_EQ(syscall(SYS_set_tid_address, &tid_slot), gettid());
	CHECK_EQ(syscall(SYS_set_tid_address, NULL), gettid());
	CHECK_EQ(syscall(SYS_set_tid_address, &tid_slot), getpid());

	static struct robust_list_head head;
	head.list.next = &head.list;
	head.futex_offset = 0;
	head.list_op_pending = NULL;
	CHECK_EQ(syscall(SYS_set_robust_list, &head, sizeof head), 0);
	CHECK_ERR(syscall(SYS_set_robust_list, &head, sizeof head - 1), EINVAL);
	CHECK_ERR(syscall(SYS_set_robust_list, &head, 0), EINVAL);
	CHECK_ERR(syscall(SYS_set_robust_list, &head, sizeof head * 2), EINVAL);
	return 0;
}
