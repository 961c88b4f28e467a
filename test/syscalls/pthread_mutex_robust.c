// pthread_mutex_robust: glibc's robust mutexes across the ways a holder can
// go. The kernel walks the holder's robust list when a thread exits, when
// a whole process exits (every thread's list: one mutex per thread here),
// and at execve (the new image has no robust list, so the old one is
// released, Linux's exec_mm_release), also for a thread that execve kills.
// Each held lock gets FUTEX_OWNER_DIED and a waiter is woken: the next
// pthread_mutex_lock returns EOWNERDEAD, pthread_mutex_consistent makes
// the mutex usable again (and is EINVAL on a consistent one), errorcheck
// mutexes included.
//
//go:build ignore

#include "task_check.h"

enum { THREADS = 3 };

struct shared {
	pthread_mutex_t m[THREADS];
	atomic_int ready;
};

static struct shared *s;

static void init(pthread_mutex_t *m, int type) {
	pthread_mutexattr_t a;
	CHECK_EQ(pthread_mutexattr_init(&a), 0);
	CHECK_EQ(pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST), 0);
	CHECK_EQ(pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED), 0);
	CHECK_EQ(pthread_mutexattr_settype(&a, type), 0);
	CHECK_EQ(pthread_mutex_init(m, &a), 0);
}

// recover takes an abandoned mutex and makes it usable again.
static void recover(pthread_mutex_t *m) {
	CHECK_EQ(pthread_mutex_lock(m), EOWNERDEAD);
	CHECK_EQ(pthread_mutex_consistent(m), 0);
	CHECK_EQ(pthread_mutex_unlock(m), 0);
	CHECK_EQ(pthread_mutex_lock(m), 0);
	CHECK_EQ(pthread_mutex_consistent(m), EINVAL);
	CHECK_EQ(pthread_mutex_unlock(m), 0);
}

static void *hold(void *arg) {
	CHECK_EQ(pthread_mutex_lock(&s->m[(long)arg]), 0);
	atomic_fetch_add(&s->ready, 1);
	for (;;)
		pause();
}

static void *exit_when_waited(void *arg) {
	pthread_mutex_t *m = &s->m[(long)arg];
	CHECK_EQ(pthread_mutex_lock(m), 0);
	atomic_fetch_add(&s->ready, 1);
	// A waiter on a robust mutex sets bit 31 of the word before it sleeps.
	while (!(atomic_load((atomic_uint *)m) & FUTEX_WAITERS))
		usleep(1000);
	msleep(20);
	return NULL;
}

// die_with_parent makes a child that waits to be killed die if the test
// fails first.
static void die_with_parent(void) { CHECK_OK(prctl(PR_SET_PDEATHSIG, SIGKILL)); }

static void wait_ready(int n) {
	for (int i = 0; atomic_load(&s->ready) < n; i++) {
		if (i > 5000)
			FAIL("%d of %d holders ready", atomic_load(&s->ready), n);
		usleep(1000);
	}
}

int main(int argc, char **argv) {
	if (argc > 3 && strcmp(argv[2], "after-exec") == 0) {
		for (;;)
			pause();
	}
	s = mmap(NULL, page_size(), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(s != MAP_FAILED);
	for (int i = 0; i < THREADS; i++)
		init(&s->m[i], i == 1 ? PTHREAD_MUTEX_ERRORCHECK : PTHREAD_MUTEX_NORMAL);

	// A thread exits holding it while we wait: we are woken.
	pthread_t th;
	CHECK_EQ(pthread_create(&th, NULL, exit_when_waited, (void *)1L), 0);
	wait_ready(1);
	CHECK_EQ(pthread_mutex_lock(&s->m[1]), EOWNERDEAD);
	CHECK_EQ(pthread_mutex_lock(&s->m[1]), EDEADLK); // errorcheck: ours now
	CHECK_EQ(pthread_mutex_consistent(&s->m[1]), 0);
	CHECK_EQ(pthread_mutex_unlock(&s->m[1]), 0);
	CHECK_EQ(pthread_join(th, NULL), 0);

	// A whole process exits with each of its threads holding one.
	atomic_store(&s->ready, 0);
	pid_t pid = XFORK();
	if (pid == 0) {
		die_with_parent();
		for (long i = 1; i < THREADS; i++)
			CHECK_EQ(pthread_create(&th, NULL, hold, (void *)i), 0);
		hold((void *)0L);
	}
	wait_ready(THREADS);
	for (int i = 0; i < THREADS; i++)
		CHECK_EQ(pthread_mutex_trylock(&s->m[i]), EBUSY);
	kill(pid, SIGKILL);
	WAIT_KILLED(pid, SIGKILL);
	for (int i = 0; i < THREADS; i++) {
		unsigned w = atomic_load((atomic_uint *)&s->m[i]);
		CHECK_EQ(w, FUTEX_OWNER_DIED);
		recover(&s->m[i]);
	}

	// execve releases the caller's own robust list, and another thread's
	// through the exit execve forces on it.
	atomic_store(&s->ready, 0);
	pid = XFORK();
	if (pid == 0) {
		die_with_parent(); // kept across execve
		CHECK_EQ(pthread_create(&th, NULL, hold, (void *)2L), 0);
		CHECK_EQ(pthread_mutex_lock(&s->m[0]), 0);
		atomic_fetch_add(&s->ready, 1);
		wait_ready(2);
		// Wait for the parent to sleep on m[0].
		while (!(atomic_load((atomic_uint *)&s->m[0]) & FUTEX_WAITERS))
			usleep(1000);
		msleep(20);
		reexec(argv, "after-exec", "x", NULL);
	}
	wait_ready(2);
	CHECK_EQ(pthread_mutex_lock(&s->m[0]), EOWNERDEAD);
	CHECK_EQ(pthread_mutex_consistent(&s->m[0]), 0);
	CHECK_EQ(pthread_mutex_unlock(&s->m[0]), 0);
	CHECK_EQ(pthread_mutex_lock(&s->m[2]), EOWNERDEAD);
	CHECK_EQ(pthread_mutex_consistent(&s->m[2]), 0);
	CHECK_EQ(pthread_mutex_unlock(&s->m[2]), 0);
	CHECK_EQ(waitpid(pid, NULL, WNOHANG), 0); // alive, in its new image
	kill(pid, SIGKILL);
	WAIT_KILLED(pid, SIGKILL);
	return 0;
}
