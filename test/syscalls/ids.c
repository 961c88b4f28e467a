// ids: process identity: getpid == gettid (single thread) and both are
// positive and stable; getppid differs from getpid; the raw syscalls match
// the libc wrappers; real and effective uid/gid agree (no set-id bits).
//
//go:build ignore

#include "check.h"

int main(void) {
	pid_t pid = getpid();
	CHECK(pid > 0);
	CHECK_EQ(syscall(SYS_getpid), pid);
	CHECK_EQ(syscall(SYS_gettid), pid);
	CHECK_EQ(gettid(), pid);
	CHECK_EQ(getpid(), pid);
	pid_t ppid = getppid();
	CHECK(ppid >= 0);
	CHECK(ppid != pid);
	CHECK_EQ(syscall(SYS_getppid), ppid);

	uid_t uid = getuid();
	gid_t gid = getgid();
	CHECK_EQ(syscall(SYS_getuid), uid);
	CHECK_EQ(syscall(SYS_getgid), gid);
	CHECK_EQ(geteuid(), uid);
	CHECK_EQ(getegid(), gid);
	CHECK_EQ(syscall(SYS_geteuid), uid);
	CHECK_EQ(syscall(SYS_getegid), gid);
	CHECK(uid != (uid_t)-1);
	CHECK(gid != (gid_t)-1);
	return 0;
}
