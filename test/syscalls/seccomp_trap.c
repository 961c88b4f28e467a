// seccomp_trap: SECCOMP_RET_TRAP turns the system call into a SIGSYS whose
// siginfo has si_code SYS_SECCOMP, si_syscall, si_arch AUDIT_ARCH_X86_64,
// si_errno = the filter's data and si_call_addr = the address after the
// syscall instruction (the RIP in the ucontext); the handler can supply the
// "return value" through RAX. If SIGSYS is blocked the process is killed.
//
//go:build ignore

#include "seccomp_check.h"
#include <ucontext.h>

static volatile int hits, code, nr, err;
static volatile unsigned arch;
static volatile uintptr_t call_addr, rip;

static void handler(int sig, siginfo_t *si, void *ucv) {
	(void)sig;
	ucontext_t *uc = ucv;
	hits++;
	code = si->si_code;
	nr = si->si_syscall;
	arch = si->si_arch;
	err = si->si_errno;
	call_addr = (uintptr_t)si->si_call_addr;
	rip = uc->uc_mcontext.gregs[REG_RIP];
	uc->uc_mcontext.gregs[REG_RAX] = 4242;
}

int main(void) {
	pid_t pid = XFORK();
	if (pid == 0) {
		install(SIGSYS, handler, 0);
		filter_one(SYS_getppid, SECCOMP_RET_TRAP | 0x42);
		CHECK_EQ(syscall(SYS_getppid), 4242);
		CHECK_EQ(hits, 1);
		CHECK_EQ(code, 1); // SYS_SECCOMP
		CHECK_EQ(nr, SYS_getppid);
		CHECK_EQ(arch, AUDIT_ARCH_X86_64);
		CHECK_EQ(err, 0x42);
		CHECK_EQ(call_addr, rip);
		CHECK_EQ(((unsigned char *)call_addr)[-2], 0x0f); // just past "syscall"
		CHECK_EQ(((unsigned char *)call_addr)[-1], 0x05);
		CHECK_EQ(syscall(SYS_getpid), getpid());
		_exit(0);
	}
	WAIT_EXIT(pid, 0);

	pid = XFORK();
	if (pid == 0) {
		no_core();
		install(SIGSYS, handler, 0);
		filter_one(SYS_getppid, SECCOMP_RET_TRAP);
		block(SIGSYS, SIG_BLOCK);
		syscall(SYS_getppid);
		_exit(0);
	}
	WAIT_KILLED(pid, SIGSYS);
	return 0;
}
