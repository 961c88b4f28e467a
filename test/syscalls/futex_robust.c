// futex_robust: when a thread (or a process) dies holding a robust mutex,
// the kernel walks its robust list, sets FUTEX_OWNER_DIED in the lock word
// and wakes a waiter: the next pthread_mutex_lock returns EOWNERDEAD, the
// mutex can be made consistent and used again; unlocking without that makes
// it ENOTRECOVERABLE. Works for a process-shared mutex in MAP_SHARED memory.
//
//go:build ignore

#include "task_check.h"

static pthread_mutex_t *mu;
static pid_t owner_tid;

static void init_robust(pthread_mutex_t *m, int pshared) {
	pthread_mutexattr_t a;
	CHECK_EQ(pthread_mutexattr_init(&a), 0);
	CHECK_EQ(pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST), 0);
	if (pshared)
		CHECK_EQ(pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED), 0);
	CHECK_EQ(pthread_mutex_init(m, &a), 0);
}

static void *die_holding(void *arg) {
	(void)arg;
	CHECK_EQ(pthread_mutex_lock(mu), 0);
	owner_tid = gettid();
	return NULL; // exits with the lock held
}

int main(void) {
	pthread_mutex_t *shared = mmap(NULL, page_size(), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(shared != MAP_FAILED);
	static pthread_mutex_t local;
	mu = &local;
	init_robust(mu, 0);

	pthread_t t;
	CHECK_EQ(pthread_create(&t, NULL, die_holding, NULL), 0);
	CHECK_EQ(pthread_join(t, NULL), 0);
	int word = *(volatile int *)mu; // __lock is the first member
	CHECK(word & FUTEX_OWNER_DIED);
	CHECK_EQ(word & FUTEX_TID_MASK, 0);
	CHECK(owner_tid != 0);
	CHECK_EQ(pthread_mutex_lock(mu), EOWNERDEAD);
	CHECK_EQ(pthread_mutex_consistent(mu), 0);
	CHECK_EQ(pthread_mutex_unlock(mu), 0);
	CHECK_EQ(pthread_mutex_lock(mu), 0); // usable again
	CHECK_EQ(pthread_mutex_unlock(mu), 0);

	// Not made consistent: unrecoverable.
	CHECK_EQ(pthread_create(&t, NULL, die_holding, NULL), 0);
	CHECK_EQ(pthread_join(t, NULL), 0);
	CHECK_EQ(pthread_mutex_lock(mu), EOWNERDEAD);
	CHECK_EQ(pthread_mutex_unlock(mu), 0);
	CHECK_EQ(pthread_mutex_lock(mu), ENOTRECOVERABLE);

	// A process killed while holding a shared one, with us waiting on it.
	init_robust(shared, 1);
	int p[2];
	CHECK_OK(pipe(p));
	pid_t pid = XFORK();
	if (pid == 0) {
		CHECK_EQ(pthread_mutex_lock(shared), 0);
		CHECK_EQ(write(p[1], "l", 1), 1);
		for (;;)
			pause();
	}
	char c;
	CHECK_EQ(read(p[0], &c, 1), 1);
	CHECK_EQ(pthread_mutex_trylock(shared), EBUSY);
	pid_t killer = XFORK();
	if (killer == 0) {
		msleep(50); // let the parent block in the lock
		kill(pid, SIGKILL);
		_exit(0);
	}
	CHECK_EQ(pthread_mutex_lock(shared), EOWNERDEAD); // woken by the kernel
	CHECK_EQ(pthread_mutex_consistent(shared), 0);
	CHECK_EQ(pthread_mutex_unlock(shared), 0);
	WAIT_KILLED(pid, SIGKILL);
	WAIT_EXIT(killer, 0);
	return 0;
}
