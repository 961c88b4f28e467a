// cred_capbset: PR_CAPBSET_READ reports the bounding set (EINVAL past the last
// capability); with CAP_SETPCAP, PR_CAPBSET_DROP removes one for good (reads
// back 0, inherited by fork, not undone for the parent); without
// CAP_SETPCAP dropping is EPERM.
//
//go:build ignore

#include "task_check.h"
#include <linux/capability.h>

int main(void) {
	CHECK_ERR(prctl(PR_CAPBSET_READ, 1000, 0, 0, 0), EINVAL);
	CHECK_ERR(prctl(PR_CAPBSET_READ, -1, 0, 0, 0), EINVAL);
	int had = prctl(PR_CAPBSET_READ, CAP_NET_RAW, 0, 0, 0);
	CHECK(had == 0 || had == 1);
	int had_chown = prctl(PR_CAPBSET_READ, CAP_CHOWN, 0, 0, 0);
	CHECK(had_chown == 0 || had_chown == 1);

	pid_t pid = XFORK();
	if (pid == 0) {
		struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
		struct __user_cap_data_struct d[2];
		CHECK_OK(syscall(SYS_capget, &h, d));
		if (!(d[0].effective & (1u << CAP_SETPCAP))) {
			CHECK_ERR(prctl(PR_CAPBSET_DROP, CAP_NET_RAW, 0, 0, 0), EPERM);
			_exit(0);
		}
		CHECK_OK(prctl(PR_CAPBSET_DROP, CAP_NET_RAW, 0, 0, 0));
		CHECK_EQ(prctl(PR_CAPBSET_READ, CAP_NET_RAW, 0, 0, 0), 0);
		CHECK_OK(prctl(PR_CAPBSET_DROP, CAP_NET_RAW, 0, 0, 0)); // again: fine
		CHECK_ERR(prctl(PR_CAPBSET_DROP, 1000, 0, 0, 0), EINVAL);
		pid_t gc = XFORK();
		if (gc == 0)
			_exit(prctl(PR_CAPBSET_READ, CAP_NET_RAW, 0, 0, 0) == 0 ? 0 : 1);
		WAIT_EXIT(gc, 0);
		// Now without CAP_SETPCAP in the effective set: EPERM.
		d[0].effective &= ~(1u << CAP_SETPCAP);
		CHECK_OK(syscall(SYS_capset, &h, d));
		CHECK_ERR(prctl(PR_CAPBSET_DROP, CAP_CHOWN, 0, 0, 0), EPERM);
		CHECK_EQ(prctl(PR_CAPBSET_READ, CAP_CHOWN, 0, 0, 0), had_chown);
		_exit(0);
	}
	WAIT_EXIT(pid, 0);
	CHECK_EQ(prctl(PR_CAPBSET_READ, CAP_NET_RAW, 0, 0, 0), had);
	return 0;
}
