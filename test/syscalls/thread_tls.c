// thread_tls: every thread gets its own copy of __thread variables,
// initialised from the TLS template, at its own address, through its own
// %fs base (arch_prctl ARCH_GET_FS differs per thread and points at the
// thread's TCB); errno is per thread.
//
//go:build ignore

#include "task_check.h"
#include <asm/prctl.h>

static __thread int tv = 42;
static __thread char tbuf[32] = "template";
static __thread long tzero;

enum { N = 4 };
struct res {
	uintptr_t addr, fs, self;
	int ok;
	int err;
};
static struct res res[N];
static pthread_barrier_t bar;

static void *worker(void *arg) {
	long i = (long)arg;
	struct res *r = &res[i];
	r->ok = tv == 42 && strcmp(tbuf, "template") == 0 && tzero == 0;
	tv = 1000 + (int)i;
	snprintf(tbuf, sizeof tbuf, "thread %ld", i);
	tzero = i;
	r->addr = (uintptr_t)&tv;
	unsigned long fs = 0;
	CHECK_EQ(syscall(SYS_arch_prctl, ARCH_GET_FS, &fs), 0);
	r->fs = fs;
	r->self = (uintptr_t)pthread_self();
	errno = 0;
	CHECK_ERR(close(-1 - (int)i), EBADF); // sets this thread's errno
	pthread_barrier_wait(&bar);       // all threads alive at once
	char want[32];
	snprintf(want, sizeof want, "thread %ld", i);
	r->ok = r->ok && tv == 1000 + (int)i && strcmp(tbuf, want) == 0 && tzero == i;
	r->err = errno;
	return NULL;
}

int main(void) {
	CHECK_EQ(pthread_barrier_init(&bar, NULL, N + 1), 0);
	pthread_t t[N];
	for (long i = 0; i < N; i++)
		CHECK_EQ(pthread_create(&t[i], NULL, worker, (void *)i), 0);
	errno = 0;
	pthread_barrier_wait(&bar);
	CHECK_EQ(errno, 0); // the threads' EBADF did not land in main's errno
	for (int i = 0; i < N; i++)
		CHECK_EQ(pthread_join(t[i], NULL), 0);

	CHECK_EQ(tv, 42);
	CHECK(strcmp(tbuf, "template") == 0);
	CHECK_EQ(tzero, 0);
	unsigned long fs = 0;
	CHECK_EQ(syscall(SYS_arch_prctl, ARCH_GET_FS, &fs), 0);
	CHECK_EQ(fs, (uintptr_t)pthread_self());
	for (int i = 0; i < N; i++) {
		CHECK(res[i].ok);
		CHECK_EQ(res[i].err, EBADF);
		CHECK_EQ(res[i].fs, res[i].self);
		CHECK(res[i].fs != fs);
		CHECK(res[i].addr != (uintptr_t)&tv);
		for (int j = 0; j < i; j++) {
			CHECK(res[i].addr != res[j].addr);
			CHECK(res[i].fs != res[j].fs);
		}
	}
	return 0;
}
