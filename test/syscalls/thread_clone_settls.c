// thread_clone_settls: raw clone(2) of a thread on its own stack with
// CLONE_SETTLS (the child's %fs base is the given TCB: ARCH_GET_FS returns it
// and %fs:0 reads through it), CLONE_CHILD_SETTID (the tid is stored in the
// child's memory before it runs) and CLONE_PARENT_SETTID (stored in the
// parent's before clone returns), while the parent's %fs is unchanged.
//
//go:build ignore

#include "task_check.h"
#include <asm/prctl.h>

static inline long rsys2(long n, long a, long b) {
	long r;
	__asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b) : "rcx", "r11", "memory");
	return r;
}

// A fake TCB: word 0 is what %fs:0 reads.
static uint64_t tcb[512] __attribute__((aligned(64)));
static int ptid, ctid, ctid_at_start;
static volatile long child_tid, child_fs, child_fs0, child_stack;

__attribute__((no_stack_protector)) static int child(void *arg) {
	(void)arg;
	int local;
	ctid_at_start = __atomic_load_n(&ctid, __ATOMIC_ACQUIRE);
	child_tid = rsys2(SYS_gettid, 0, 0);
	unsigned long fs = 0;
	rsys2(SYS_arch_prctl, ARCH_GET_FS, (long)&fs);
	child_fs = fs;
	uint64_t v;
	__asm__ volatile("mov %%fs:0, %0" : "=r"(v));
	child_fs0 = v;
	child_stack = (long)&local;
	return 0;
}

enum { STACK = 64 * 1024 };

int main(void) {
	char *stack = mmap(NULL, STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(stack != MAP_FAILED);
	tcb[0] = 0x5eed5eed12345678ULL;
	unsigned long fs_before = 0, fs_after = 0;
	CHECK_EQ(syscall(SYS_arch_prctl, ARCH_GET_FS, &fs_before), 0);

	int flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM |
		    CLONE_SETTLS | CLONE_PARENT_SETTID | CLONE_CHILD_SETTID;
	int tid = clone(child, stack + STACK, flags, NULL, &ptid, tcb, &ctid);
	CHECK(tid > 0);
	CHECK_EQ(ptid, tid);
	CHECK_EQ(syscall(SYS_arch_prctl, ARCH_GET_FS, &fs_after), 0);
	CHECK_EQ(fs_after, fs_before);
	for (int i = 0; child_stack == 0; i++) {
		CHECK(i < 5000);
		usleep(1000);
	}
	CHECK_EQ(ctid, tid);
	CHECK_EQ(ctid_at_start, tid);
	CHECK_EQ(child_tid, tid);
	CHECK_EQ(child_fs, (uintptr_t)tcb);
	CHECK_EQ(child_fs0, 0x5eed5eed12345678ULL);
	CHECK(child_stack > (long)stack && child_stack < (long)stack + STACK);
	// The thread has exited by now or will soon: it must vanish.
	for (int i = 0; syscall(SYS_tgkill, getpid(), tid, 0) == 0; i++) {
		CHECK(i < 5000);
		usleep(1000);
	}
	CHECK_EQ(errno, ESRCH);
	return 0;
}
