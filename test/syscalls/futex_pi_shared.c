// futex_pi_shared: PI futexes shared between processes through MAP_SHARED
// memory (operations without FUTEX_PRIVATE_FLAG). A process blocked in
// FUTEX_LOCK_PI on a word another process holds is handed it by that
// process's FUTEX_UNLOCK_PI; two processes counting under the lock lose
// no update; a word naming a process that exited is ESRCH. A robust
// process-shared PTHREAD_PRIO_INHERIT mutex whose owner is killed, or
// calls execve (which releases the robust list as exit does), is handed
// to the process waiting for it, with EOWNERDEAD.
//
//go:build ignore

#include "futex_pi_check.h"

enum { ROUNDS = 1000 };

struct shared {
	atomic_uint lock;
	atomic_uint dead;
	atomic_int step;
	long counter;
	pthread_mutex_t robust;
};

static void next_step(struct shared *s, int from, int to) {
	for (int i = 0; atomic_load(&s->step) != from; i++) {
		if (i > 5000)
			FAIL("stuck at step %d (want %d)", atomic_load(&s->step), from);
		usleep(1000);
	}
	atomic_store(&s->step, to);
}

static void count(struct shared *s) {
	for (int i = 0; i < ROUNDS; i++) {
		int e = pi_lock(&s->lock, 0);
		if (e)
			FAIL("pi_lock: errno %d %s", e, errname(e));
		s->counter++;
		if (i % 64 == 0)
			sched_yield();
		pi_unlock(&s->lock, 0);
	}
}

int main(int argc, char **argv) {
	if (argc > 3 && strcmp(argv[2], "exec-holder") == 0) {
		// Re-executed while holding the robust mutex: the old image's
		// robust list was released; wait to be killed.
		for (;;)
			pause();
	}
	struct shared *s = mmap(NULL, page_size(), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(s != MAP_FAILED);
	unsigned tid = gettid();

	// Hand-over between processes.
	pid_t pid = XFORK();
	if (pid == 0) {
		CHECK_EQ(pi_lock(&s->lock, 0), 0);
		next_step(s, 0, 1);
		wait_waiters(&s->lock);
		pi_unlock(&s->lock, 0);
		_exit(0);
	}
	next_step(s, 1, 2);
	CHECK_EQ(atomic_load(&s->lock), (unsigned)pid);
	CHECK_OK(futex(&s->lock, FUTEX_LOCK_PI, 0, NULL, NULL, 0));
	CHECK_EQ(atomic_load(&s->lock), tid | FUTEX_WAITERS);
	WAIT_EXIT(pid, 0);
	pi_unlock(&s->lock, 0);
	CHECK_EQ(atomic_load(&s->lock), 0);

	// Counting.
	pid = XFORK();
	if (pid == 0) {
		count(s);
		_exit(0);
	}
	count(s);
	WAIT_EXIT(pid, 0);
	CHECK_EQ(s->counter, 2L * ROUNDS);
	CHECK_EQ(atomic_load(&s->lock), 0);

	// The owner process exited without a robust list.
	pid = XFORK();
	if (pid == 0) {
		CHECK_EQ(pi_lock(&s->dead, 0), 0);
		_exit(0);
	}
	WAIT_EXIT(pid, 0);
	CHECK_EQ(atomic_load(&s->dead), (unsigned)pid);
	CHECK_ERR(futex(&s->dead, FUTEX_LOCK_PI, 0, NULL, NULL, 0), ESRCH);
	CHECK_ERR(futex(&s->dead, FUTEX_TRYLOCK_PI, 0, NULL, NULL, 0), ESRCH);

	// Robust PI mutexes: the owner is killed while we wait.
	pthread_mutexattr_t a;
	CHECK_EQ(pthread_mutexattr_init(&a), 0);
	CHECK_EQ(pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED), 0);
	CHECK_EQ(pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST), 0);
	CHECK_EQ(pthread_mutexattr_setprotocol(&a, PTHREAD_PRIO_INHERIT), 0);
	CHECK_EQ(pthread_mutex_init(&s->robust, &a), 0);
	atomic_store(&s->step, 0);
	pid = XFORK();
	if (pid == 0) {
		CHECK_OK(prctl(PR_SET_PDEATHSIG, SIGKILL)); // if the test fails
		CHECK_EQ(pthread_mutex_lock(&s->robust), 0);
		next_step(s, 0, 1);
		for (;;)
			pause();
	}
	next_step(s, 1, 2);
	pid_t killer = XFORK();
	if (killer == 0) {
		wait_waiters((atomic_uint *)&s->robust);
		msleep(20);
		kill(pid, SIGKILL);
		_exit(0);
	}
	CHECK_EQ(pthread_mutex_lock(&s->robust), EOWNERDEAD);
	CHECK_EQ(pthread_mutex_consistent(&s->robust), 0);
	CHECK_EQ(pthread_mutex_unlock(&s->robust), 0);
	WAIT_KILLED(pid, SIGKILL);
	WAIT_EXIT(killer, 0);

	// ... or calls execve holding it: the process lives on, the lock is
	// released.
	atomic_store(&s->step, 0);
	pid = XFORK();
	if (pid == 0) {
		CHECK_OK(prctl(PR_SET_PDEATHSIG, SIGKILL)); // kept across execve
		CHECK_EQ(pthread_mutex_lock(&s->robust), 0);
		next_step(s, 0, 1);
		wait_waiters((atomic_uint *)&s->robust);
		msleep(20);
		reexec(argv, "exec-holder", "x", NULL);
	}
	next_step(s, 1, 2);
	CHECK_EQ(pthread_mutex_lock(&s->robust), EOWNERDEAD);
	CHECK_EQ(pthread_mutex_consistent(&s->robust), 0);
	CHECK_EQ(pthread_mutex_unlock(&s->robust), 0);
	CHECK_EQ(waitpid(pid, NULL, WNOHANG), 0); // still running
	kill(pid, SIGKILL);
	WAIT_KILLED(pid, SIGKILL);
	return 0;
}
