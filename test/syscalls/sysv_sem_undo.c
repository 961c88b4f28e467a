// sysv_sem_undo: SEM_UNDO. A process's adjustments are applied when it
// exits (normally or killed) before its parent can reap it, with the
// process as the semaphores' last pid; the result is clamped at 0; SETVAL
// clears the adjustments of that semaphore; the adjustment range is
// -32768..32767 (ERANGE past it); threads made with CLONE_SYSVSEM
// (pthreads) share one undo list, applied when the last of them exits,
// while a thread cloned without it has its own, applied at its exit; a
// forked child does not inherit its parent's; unshare(CLONE_SYSVSEM)
// applies the caller's list like an exit.
//
//go:build ignore

#include "task_check.h"
#include <sys/ipc.h>
#include <sys/sem.h>

union semun {
	int val;
	struct semid_ds *buf;
	unsigned short *array;
};

static int id;

static int op(int num, int delta, int flg) {
	struct sembuf sb = {.sem_num = num, .sem_op = delta, .sem_flg = flg};
	return semop(id, &sb, 1);
}

static int getval(int num) { return semctl(id, num, GETVAL); }

static void setval(int num, int v) {
	union semun u = {.val = v};
	CHECK_OK(semctl(id, num, SETVAL, u));
}

static void *thread_dec(void *arg) {
	(void)arg;
	CHECK_OK(op(0, -1, SEM_UNDO));
	return NULL;
}

static int raw_thread_dec(void *arg) {
	(void)arg;
	struct sembuf sb = {0, -1, SEM_UNDO};
	return syscall(SYS_semop, id, &sb, 1) == 0 ? 0 : 1;
}

int main(void) {
	id = semget(IPC_PRIVATE, 3, IPC_CREAT | 0600);
	CHECK(id >= 0);
	int up[2], down[2]; // child to parent, parent to child
	CHECK_OK(pipe(up));
	CHECK_OK(pipe(down));
	char ch;

	// Undone at exit, with the exiting process as the last pid.
	setval(0, 5);
	pid_t c = XFORK();
	if (c == 0) {
		CHECK_OK(op(0, -1, SEM_UNDO));
		CHECK_OK(op(0, -1, SEM_UNDO));
		CHECK_OK(op(0, 1, SEM_UNDO));
		CHECK_EQ(getval(0), 4);
		_exit(0);
	}
	WAIT_EXIT(c, 0);
	CHECK_EQ(getval(0), 5);
	CHECK_EQ(semctl(id, 0, GETPID), c);

	// Undone when killed, too.
	c = XFORK();
	if (c == 0) {
		CHECK_OK(op(0, -2, SEM_UNDO));
		CHECK_EQ(write(up[1], "k", 1), 1);
		pause();
		_exit(1);
	}
	CHECK_EQ(read(up[0], &ch, 1), 1);
	CHECK_EQ(getval(0), 3);
	CHECK_OK(kill(c, SIGKILL));
	WAIT_KILLED(c, SIGKILL);
	CHECK_EQ(getval(0), 5);

	// Clamped at 0: the child's +2 was consumed by someone else.
	setval(1, 0);
	c = XFORK();
	if (c == 0) {
		CHECK_OK(op(1, 2, SEM_UNDO));
		CHECK_EQ(write(up[1], "x", 1), 1);
		CHECK_EQ(read(down[0], &ch, 1), 1);
		_exit(0);
	}
	CHECK_EQ(read(up[0], &ch, 1), 1);
	CHECK_OK(op(1, -1, 0));
	CHECK_EQ(getval(1), 1);
	CHECK_EQ(write(down[1], "y", 1), 1);
	WAIT_EXIT(c, 0);
	CHECK_EQ(getval(1), 0);

	// SETVAL clears the adjustment of its semaphore only.
	setval(1, 3);
	c = XFORK();
	if (c == 0) {
		CHECK_OK(op(1, -1, SEM_UNDO));
		CHECK_OK(op(2, 1, SEM_UNDO));
		CHECK_EQ(write(up[1], "x", 1), 1);
		CHECK_EQ(read(down[0], &ch, 1), 1);
		_exit(0);
	}
	CHECK_EQ(read(up[0], &ch, 1), 1);
	setval(1, 10);
	CHECK_EQ(write(down[1], "y", 1), 1);
	WAIT_EXIT(c, 0);
	CHECK_EQ(getval(1), 10);
	CHECK_EQ(getval(2), 0);

	// The adjustment range.
	setval(2, 0);
	c = XFORK();
	if (c == 0) {
		CHECK_OK(op(2, 32767, SEM_UNDO)); // semadj -32767
		CHECK_OK(op(2, -32767, 0));
		CHECK_OK(op(2, 1, SEM_UNDO)); // -32768
		CHECK_OK(op(2, -1, 0));
		CHECK_ERR(op(2, 1, SEM_UNDO), ERANGE);
		CHECK_EQ(getval(2), 0);
		CHECK_OK(op(2, 1, 0));
		CHECK_OK(op(2, -1, SEM_UNDO)); // -32767
		_exit(0);
	}
	WAIT_EXIT(c, 0);
	CHECK_EQ(getval(2), 0);

	// pthreads share the list: a thread's exit applies nothing, the
	// process's does.
	c = XFORK();
	if (c == 0) {
		pthread_t th;
		CHECK_EQ(pthread_create(&th, NULL, thread_dec, NULL), 0);
		CHECK_EQ(pthread_join(th, NULL), 0);
		msleep(10);
		CHECK_EQ(getval(0), 4);
		_exit(0);
	}
	WAIT_EXIT(c, 0);
	CHECK_EQ(getval(0), 5);

	// A thread cloned without CLONE_SYSVSEM has its own list.
	c = XFORK();
	if (c == 0) {
		static char stack[64 << 10];
		static pid_t ctid = 1;
		int tid = clone(raw_thread_dec, stack + sizeof stack,
				CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
				    CLONE_CHILD_CLEARTID | CLONE_PARENT_SETTID,
				NULL, &ctid, NULL, &ctid);
		CHECK(tid > 0);
		for (int i = 0; i < 5000 && __atomic_load_n(&ctid, __ATOMIC_SEQ_CST) != 0; i++)
			futex(&ctid, FUTEX_WAIT, tid, &(struct timespec){0, 1000000}, NULL, 0);
		CHECK_EQ(ctid, 0);
		// Linux clears the thread ID (exit_mm) before it applies the
		// undo list (exit_sem): poll, boundedly, for the latter.
		for (int i = 0; i < 2000 && getval(0) != 5; i++)
			usleep(1000);
		CHECK_EQ(getval(0), 5);
		_exit(0);
	}
	WAIT_EXIT(c, 0);
	CHECK_EQ(getval(0), 5);

	// fork does not pass the list on.
	c = XFORK();
	if (c == 0) {
		CHECK_OK(op(0, -1, SEM_UNDO));
		pid_t g = XFORK();
		if (g == 0)
			_exit(0);
		WAIT_EXIT(g, 0);
		CHECK_EQ(getval(0), 4);
		_exit(0);
	}
	WAIT_EXIT(c, 0);
	CHECK_EQ(getval(0), 5);

	// unshare(CLONE_SYSVSEM) applies it at once.
	c = XFORK();
	if (c == 0) {
		CHECK_OK(op(0, -1, SEM_UNDO));
		CHECK_EQ(getval(0), 4);
		CHECK_OK(unshare(CLONE_SYSVSEM));
		CHECK_EQ(getval(0), 5);
		CHECK_OK(op(0, -2, 0));
		_exit(0);
	}
	WAIT_EXIT(c, 0);
	CHECK_EQ(getval(0), 3);

	CHECK_OK(semctl(id, 0, IPC_RMID));
	return 0;
}
