// arch_prctl: ARCH_GET_FS returns the thread pointer (fs:0 holds itself,
// glibc's TCB); ARCH_SET_FS to a private TCB copy is seen by %fs loads and
// ARCH_GET_FS, and restoring it works (done with raw syscalls, no libc in
// between); a kernel address -> EPERM; unknown codes -> EINVAL; a bad
// ARCH_GET_FS pointer -> EFAULT.
//
//go:build ignore

#include "check.h"
#include <asm/prctl.h>

static inline long raw2(long nr, long a, long b) {
	long ret;
	__asm__ volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a), "S"(b) : "rcx", "r11", "memory");
	return ret;
}

static unsigned long fake_tcb[512] __attribute__((aligned(64)));

struct result {
	long set, get, restore;
	unsigned long got, fs0, fs8;
};

__attribute__((noinline)) static void swap_fs(unsigned long old, struct result *r) {
	r->set = raw2(SYS_arch_prctl, ARCH_SET_FS, (long)fake_tcb);
	__asm__ volatile("mov %%fs:0, %0" : "=r"(r->fs0));
	__asm__ volatile("mov %%fs:8, %0" : "=r"(r->fs8));
	r->get = raw2(SYS_arch_prctl, ARCH_GET_FS, (long)&r->got);
	r->restore = raw2(SYS_arch_prctl, ARCH_SET_FS, (long)old);
}

int main(void) {
	unsigned long fs = 0, self = 0;
	CHECK_EQ(syscall(SYS_arch_prctl, ARCH_GET_FS, &fs), 0);
	CHECK(fs != 0);
	__asm__ volatile("mov %%fs:0, %0" : "=r"(self));
	CHECK_EQ(self, fs);

	// A copy of the TCB so the stack protector canary (fs:0x28) and
	// anything else at a positive offset still reads sensibly.
	memcpy(fake_tcb, (void *)fs, 256);
	fake_tcb[0] = (unsigned long)fake_tcb;
	fake_tcb[1] = 0x1234567890abcdefUL;
	struct result r;
	memset(&r, 0, sizeof r);
	swap_fs(fs, &r);
	CHECK_EQ(r.set, 0);
	CHECK_EQ(r.fs0, (unsigned long)fake_tcb);
	CHECK_EQ(r.fs8, 0x1234567890abcdefUL);
	CHECK_EQ(r.get, 0);
	CHECK_EQ(r.got, (unsigned long)fake_tcb);
	CHECK_EQ(r.restore, 0);
	unsigned long now = 0;
	CHECK_EQ(syscall(SYS_arch_prctl, ARCH_GET_FS, &now), 0);
	CHECK_EQ(now, fs);
	errno = 0; // TLS works again
	CHECK_EQ(errno, 0);

	// Setting the current value again is fine.
	CHECK_EQ(syscall(SYS_arch_prctl, ARCH_SET_FS, fs), 0);
	CHECK_ERR(syscall(SYS_arch_prctl, ARCH_SET_FS, 0xffff800000000000UL), EPERM);
	CHECK_ERR(syscall(SYS_arch_prctl, 0x9999, 0), EINVAL);
	CHECK_ERR(syscall(SYS_arch_prctl, ARCH_GET_FS, bad_addr()), EFAULT);
	CHECK_EQ(syscall(SYS_arch_prctl, ARCH_GET_FS, &now), 0);
	CHECK_EQ(now, fs);
	return 0;
}
