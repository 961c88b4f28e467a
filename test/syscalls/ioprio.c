// ioprio: ioprio_set/ioprio_get keep an I/O priority per thread: none
// (0) until one is set; any class, level and hint bits of the 16 Linux
// keeps; the class "none" with a level, and unknown classes, are EINVAL;
// fork and pthread_create copy a priority with a class but not one
// without, and CLONE_IO shares it; IOPRIO_WHO_PGRP reads the best (lowest) effective priority of
// a process group, which without a class comes from the nice value (best
// effort, (nice + 20) / 5); an unknown target is ESRCH and an unknown
// `which` EINVAL; without CAP_SYS_NICE another user's process is EPERM,
// and so is the real-time class without CAP_SYS_ADMIN.
//
//go:build ignore

#include "fs_check.h"
#include <pthread.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#define WHO_PROCESS 1
#define WHO_PGRP 2
#define WHO_USER 3
#define CLASS_RT 1
#define CLASS_BE 2
#define CLASS_IDLE 3
#define PRIO(class, data) (((class) << 13) | (data))

static long ioprio_set(int which, int who, int prio) { return syscall(SYS_ioprio_set, which, who, prio); }
static long ioprio_get(int which, int who) { return syscall(SYS_ioprio_get, which, who); }

static long get_ok(int which, int who) {
	long r = ioprio_get(which, who);
	if (r < 0)
		FAIL("ioprio_get(%d, %d) (errno %d %s)", which, who, errno, errname(errno));
	return r;
}

static void *thread_prio(void *arg) {
	(void)arg;
	CHECK_EQ(get_ok(WHO_PROCESS, 0), PRIO(CLASS_BE, 3)); // copied
	CHECK_OK(ioprio_set(WHO_PROCESS, gettid(), PRIO(CLASS_IDLE, 0)));
	CHECK_EQ(get_ok(WHO_PROCESS, 0), PRIO(CLASS_IDLE, 0));
	return NULL;
}

static int clone_io_child(void *arg) {
	(void)arg;
	return ioprio_set(WHO_PROCESS, 0, PRIO(CLASS_BE, 5)) == 0 ? 0 : 1;
}

static char clone_stack[65536];

static void unprivileged(void *arg) {
	pid_t root_owned = *(pid_t *)arg;
	CHECK_EQ(get_ok(WHO_PROCESS, root_owned), PRIO(CLASS_BE, 3)); // reading is allowed
	CHECK_OK(ioprio_set(WHO_PROCESS, 0, PRIO(CLASS_BE, 7)));
	CHECK_OK(ioprio_set(WHO_PROCESS, 0, PRIO(CLASS_IDLE, 0)));
	CHECK_ERR(ioprio_set(WHO_PROCESS, 0, PRIO(CLASS_RT, 0)), EPERM);
	CHECK_ERR(ioprio_set(WHO_PROCESS, root_owned, PRIO(CLASS_BE, 1)), EPERM);
	CHECK_EQ(get_ok(WHO_PROCESS, 0), PRIO(CLASS_IDLE, 0));
	CHECK_EQ(get_ok(WHO_USER, NOBODY), PRIO(CLASS_IDLE, 0));
}

int main(void) {
	CHECK_EQ(get_ok(WHO_PROCESS, 0), 0);
	CHECK_EQ(get_ok(WHO_PROCESS, getpid()), 0);

	// Classes, levels and hints, stored as set (in 16 bits).
	CHECK_OK(ioprio_set(WHO_PROCESS, 0, PRIO(CLASS_RT, 3)));
	CHECK_EQ(get_ok(WHO_PROCESS, 0), PRIO(CLASS_RT, 3));
	CHECK_OK(ioprio_set(WHO_PROCESS, 0, PRIO(CLASS_IDLE, 5)));
	CHECK_EQ(get_ok(WHO_PROCESS, 0), PRIO(CLASS_IDLE, 5));
	CHECK_OK(ioprio_set(WHO_PROCESS, 0, PRIO(CLASS_BE, 0x1fff)));
	CHECK_EQ(get_ok(WHO_PROCESS, 0), PRIO(CLASS_BE, 0x1fff));
	CHECK_OK(ioprio_set(WHO_PROCESS, 0, 0x10000 | PRIO(CLASS_BE, 1)));
	CHECK_EQ(get_ok(WHO_PROCESS, 0), PRIO(CLASS_BE, 1));
	CHECK_OK(ioprio_set(WHO_PROCESS, 0, 8)); // no class, a hint
	CHECK_EQ(get_ok(WHO_PROCESS, 0), 8);
	CHECK_ERR(ioprio_set(WHO_PROCESS, 0, 1), EINVAL); // no class, a level
	for (int class = 4; class < 8; class++)
		CHECK_ERR(ioprio_set(WHO_PROCESS, 0, PRIO(class, 0)), EINVAL);
	CHECK_ERR(ioprio_set(WHO_PROCESS, 0, -1), EINVAL);
	CHECK_EQ(get_ok(WHO_PROCESS, 0), 8);

	// Without a class, fork does not copy it.
	fflush(NULL);
	pid_t pid = XFORK();
	if (pid == 0) {
		CHECK_EQ(get_ok(WHO_PROCESS, 0), 0);
		_exit(0);
	}
	WAIT_EXIT(pid, 0);

	// With one, threads and children start with it; per thread.
	CHECK_OK(ioprio_set(WHO_PROCESS, 0, PRIO(CLASS_BE, 3)));
	pthread_t th;
	CHECK_OK(pthread_create(&th, NULL, thread_prio, NULL));
	CHECK_OK(pthread_join(th, NULL));
	CHECK_EQ(get_ok(WHO_PROCESS, 0), PRIO(CLASS_BE, 3));

	// CLONE_IO: the child's setting is the parent's.
	pid = clone(clone_io_child, clone_stack + sizeof clone_stack, CLONE_IO | SIGCHLD, NULL);
	CHECK(pid > 0);
	WAIT_EXIT(pid, 0);
	CHECK_EQ(get_ok(WHO_PROCESS, 0), PRIO(CLASS_BE, 5));
	CHECK_OK(ioprio_set(WHO_PROCESS, 0, PRIO(CLASS_BE, 3)));

	// A child in a process group of its own.
	int p[2];
	CHECK_OK(pipe(p));
	pid = XFORK();
	if (pid == 0) {
		close(p[1]);
		CHECK_EQ(get_ok(WHO_PROCESS, 0), PRIO(CLASS_BE, 3));
		CHECK_OK(setpgid(0, 0));
		CHECK_OK(ioprio_set(WHO_PROCESS, 0, 0));
		CHECK_OK(setpriority(PRIO_PROCESS, 0, 10));
		char c;
		(void)!read(p[0], &c, 1); // until the parent is done
		_exit(0);
	}
	close(p[0]);
	for (int i = 0; i < 500 && getpgid(pid) != pid; i++)
		usleep(2000);
	for (int i = 0; i < 500 && getpriority(PRIO_PROCESS, pid) != 10; i++)
		usleep(2000);
	CHECK_EQ(get_ok(WHO_PROCESS, pid), 0);
	// No class: best effort at (10 + 20) / 5.
	CHECK_EQ(get_ok(WHO_PGRP, pid), PRIO(CLASS_BE, 6));
	CHECK_OK(ioprio_set(WHO_PGRP, pid, PRIO(CLASS_IDLE, 0)));
	CHECK_EQ(get_ok(WHO_PROCESS, pid), PRIO(CLASS_IDLE, 0));
	CHECK_EQ(get_ok(WHO_PGRP, pid), PRIO(CLASS_IDLE, 0));
	close(p[1]);
	WAIT_EXIT(pid, 0);

	// Errors.
	CHECK_ERR(ioprio_set(WHO_PROCESS, 999999, PRIO(CLASS_BE, 1)), ESRCH);
	CHECK_ERR(ioprio_get(WHO_PROCESS, 999999), ESRCH);
	CHECK_ERR(ioprio_get(WHO_PROCESS, -1), ESRCH);
	CHECK_ERR(ioprio_get(WHO_PGRP, 999999), ESRCH);
	CHECK_ERR(ioprio_get(WHO_USER, 4242424), ESRCH);
	CHECK_ERR(ioprio_set(0, 0, PRIO(CLASS_BE, 1)), EINVAL);
	CHECK_ERR(ioprio_set(4, 0, PRIO(CLASS_BE, 1)), EINVAL);
	CHECK_ERR(ioprio_get(0, 0), EINVAL);
	CHECK_ERR(ioprio_get(4, 0), EINVAL);
	CHECK_ERR(ioprio_set(WHO_PROCESS, 999999, PRIO(5, 0)), EINVAL); // the value first

	if (geteuid() == 0) {
		pid_t me = getpid();
		as_nobody(unprivileged, &me);
	}
	return 0;
}
