// thread_cleartid: a thread made by clone(CLONE_THREAD|CLONE_PARENT_SETTID|
// CLONE_CHILD_CLEARTID) has its tid stored in the parent before clone
// returns; when it exits the kernel zeroes the clear-tid word and
// FUTEX_WAKEs it (what pthread_join relies on); set_tid_address in the
// thread returns its tid and moves the word that gets cleared.
//
//go:build ignore

#include "task_check.h"

// The threads share main's TLS, so they only make raw system calls.
static inline long rsys2(long n, long a, long b) {
	long r;
	__asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b) : "rcx", "r11", "memory");
	return r;
}

static int w1, w2;
static volatile long seen_tid, set_ret;

__attribute__((no_stack_protector)) static int sleeper(void *arg) {
	(void)arg;
	struct timespec ts = {0, 30 * 1000000};
	rsys2(SYS_nanosleep, (long)&ts, 0);
	return 0;
}

__attribute__((no_stack_protector)) static int mover(void *arg) {
	(void)arg;
	seen_tid = rsys2(SYS_gettid, 0, 0);
	set_ret = rsys2(SYS_set_tid_address, (long)&w2, 0);
	struct timespec ts = {0, 20 * 1000000};
	rsys2(SYS_nanosleep, (long)&ts, 0);
	return 0;
}

// wait_zero waits (at most ~5 s) for the kernel to clear *w and wake it.
static void wait_zero(int *w) {
	struct timespec to = {5, 0};
	for (;;) {
		int v = __atomic_load_n(w, __ATOMIC_ACQUIRE);
		if (v == 0)
			return;
		long r = futex(w, FUTEX_WAIT, v, &to, NULL, 0);
		if (r < 0 && errno == ETIMEDOUT)
			FAIL("the clear-tid word is %d after 5 s: %s", *w,
			     *w ? "not cleared" : "cleared but never woken");
		if (r < 0 && errno != EAGAIN && errno != EINTR)
			FAIL("FUTEX_WAIT (errno %d %s)", errno, errname(errno));
	}
}

enum { STACK = 64 * 1024 };
static const int flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
			 CLONE_SYSVSEM | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID;

int main(void) {
	char *stack = mmap(NULL, 2 * STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(stack != MAP_FAILED);

	int tid = clone(sleeper, stack + STACK, flags, NULL, &w1, NULL, &w1);
	CHECK(tid > 0);
	CHECK(tid != getpid());
	int v = __atomic_load_n(&w1, __ATOMIC_ACQUIRE);
	CHECK(v == tid || v == 0); // set before clone returned (0 if already gone)
	wait_zero(&w1);

	w2 = 12345;
	tid = clone(mover, stack + 2 * STACK, flags, NULL, &w1, NULL, &w1);
	CHECK(tid > 0);
	for (int i = 0; set_ret == 0; i++) { // it has moved the word
		CHECK(i < 5000);
		usleep(1000);
	}
	wait_zero(&w2); // the moved word is cleared and woken...
	CHECK_EQ(seen_tid, tid);
	CHECK_EQ(set_ret, tid);
	CHECK_EQ(w1, tid); // ...and the original one is left alone
	return 0;
}
