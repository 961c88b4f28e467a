// thread_ids: a new thread has its own tid (not the pid) but the same pid,
// parent pid, process group and session; tgkill reaches a live thread, and fails with ESRCH for a
// thread that has been joined or a tid paired with the wrong tgid.
//
//go:build ignore

#include "task_check.h"

struct ids {
	pid_t tid, pid, ppid, pgrp, sid;
	int ready;
};

static int release[2];

static void *worker(void *arg) {
	struct ids *r = arg;
	r->tid = gettid();
	r->pid = getpid();
	r->ppid = getppid();
	r->pgrp = getpgrp();
	r->sid = getsid(0);
	__atomic_store_n(&r->ready, 1, __ATOMIC_RELEASE);
	char c;
	if (read(release[0], &c, 1) != 1)
		FAIL("read release pipe");
	return NULL;
}

int main(void) {
	CHECK_OK(pipe(release));
	struct ids a = {0}, b = {0};
	pthread_t ta, tb;
	CHECK_EQ(pthread_create(&ta, NULL, worker, &a), 0);
	CHECK_EQ(pthread_create(&tb, NULL, worker, &b), 0);
	for (int i = 0; !__atomic_load_n(&a.ready, __ATOMIC_ACQUIRE) || !__atomic_load_n(&b.ready, __ATOMIC_ACQUIRE); i++) {
		CHECK(i < 2000);
		msleep(1);
	}
	pid_t pid = getpid();
	CHECK_EQ(gettid(), pid);
	struct ids *all[] = {&a, &b};
	for (int i = 0; i < 2; i++) {
		struct ids *r = all[i];
		CHECK(r->tid > 0);
		CHECK(r->tid != pid);
		CHECK_EQ(r->pid, pid);
		CHECK_EQ(r->ppid, getppid());
		CHECK_EQ(r->pgrp, getpgrp());
		CHECK_EQ(r->sid, getsid(0));
		CHECK_EQ(syscall(SYS_tgkill, pid, r->tid, 0), 0);
		CHECK_EQ(syscall(SYS_tkill, r->tid, 0), 0);
	}
	CHECK(a.tid != b.tid);
	CHECK_ERR(syscall(SYS_tgkill, a.tid, b.tid, 0), ESRCH); // b is not in "process" a.tid
	CHECK_ERR(syscall(SYS_tgkill, pid, a.tid, 65), EINVAL);
	CHECK_ERR(syscall(SYS_tgkill, pid, 0, 0), EINVAL);

	CHECK_EQ(write(release[1], "xx", 2), 2);
	CHECK_EQ(pthread_join(ta, NULL), 0);
	CHECK_EQ(pthread_join(tb, NULL), 0);
	// join returns on the CLONE_CHILD_CLEARTID wake, a moment before the
	// kernel forgets the thread: poll for it to go.
	pid_t gone[] = {a.tid, b.tid};
	for (int k = 0; k < 2; k++) {
		for (int i = 0; syscall(SYS_tgkill, pid, gone[k], 0) == 0; i++) {
			CHECK(i < 5000);
			usleep(1000);
		}
		CHECK_EQ(errno, ESRCH);
	}
	CHECK_EQ(syscall(SYS_tgkill, pid, pid, 0), 0);
	return 0;
}
