// seccomp_errno: after PR_SET_NO_NEW_PRIVS a classic BPF filter can make a
// system call fail with a chosen errno (SECCOMP_RET_ERRNO; data above 4095
// is capped at 4095), match on arguments (only getpgid(12345) is refused),
// and RET_TRACE without a tracer fails with ENOSYS, while everything the
// filter allows works; PR_GET_SECCOMP then reads 2. Without no_new_privs and
// CAP_SYS_ADMIN installing is EACCES; a malformed program is EINVAL.
//
//go:build ignore

#include "seccomp_check.h"
#include <linux/capability.h>
#include <sys/utsname.h>

int main(void) {
	pid_t pid = XFORK();
	if (pid == 0) {
		CHECK_OK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
		struct rule rules[] = {
			{SYS_getppid, SECCOMP_RET_ERRNO | EXDEV, 0, 0},
			{SYS_uname, SECCOMP_RET_ERRNO | 5000, 0, 0},
			{SYS_getpgid, SECCOMP_RET_ERRNO | ENOTTY, 1, 12345},
			{SYS_getsid, SECCOMP_RET_TRACE, 0, 0},
			{SYS_getuid, SECCOMP_RET_ALLOW, 0, 0},
		};
		CHECK_OK(filter_install(rules, 5));
		CHECK_EQ(prctl(PR_GET_SECCOMP, 0, 0, 0, 0), 2);
		CHECK_ERR(syscall(SYS_getppid), EXDEV);
		struct utsname u;
		CHECK_ERR(syscall(SYS_uname, &u), 4095);
		CHECK_ERR(syscall(SYS_getpgid, 12345), ENOTTY);
		CHECK(syscall(SYS_getpgid, 0) > 0);
		CHECK_ERR(syscall(SYS_getsid, 0), ENOSYS);
		CHECK_EQ(syscall(SYS_getuid), getuid());
		CHECK_EQ(syscall(SYS_getpid), getpid());
		_exit(0);
	}
	WAIT_EXIT(pid, 0);
	CHECK(syscall(SYS_getppid) >= 0); // the parent has no filter

	// Without no_new_privs: EACCES unless CAP_SYS_ADMIN is effective.
	pid = XFORK();
	if (pid == 0) {
		struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
		struct __user_cap_data_struct d[2];
		CHECK_OK(syscall(SYS_capget, &h, d));
		d[0].effective &= ~(1u << CAP_SYS_ADMIN);
		CHECK_OK(syscall(SYS_capset, &h, d));
		struct rule r = {SYS_getppid, SECCOMP_RET_ERRNO | EXDEV, 0, 0};
		CHECK_ERR(filter_install(&r, 1), EACCES);
		CHECK(syscall(SYS_getppid) >= 0);
		CHECK_OK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
		// Malformed: a jump out of the program, and an empty program.
		struct sock_filter bad[] = {
			BPF_JUMP(BPF_JMP | BPF_JA, 5, 0, 0),
			BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		};
		struct sock_fprog prog = {2, bad};
		CHECK_ERR(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0), EINVAL);
		prog.len = 0;
		CHECK_ERR(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0), EINVAL);
		CHECK_EQ(prctl(PR_GET_SECCOMP, 0, 0, 0, 0), 0);
		_exit(0);
	}
	WAIT_EXIT(pid, 0);
	return 0;
}
