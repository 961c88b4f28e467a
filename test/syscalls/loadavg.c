// loadavg: /proc/loadavg is "L1 L5 L15 R/T LAST\n": three load averages
// with two decimals, the runnable and total thread counts, and the last
// PID handed out. Threads spinning in user space count as runnable (with
// the reader: at least four here), threads asleep do not have to; the
// total covers every thread; the last PID is at least that of a child
// just forked. (The averages themselves move over minutes: a test cannot
// see them rise within its time, natively or not.)
//
//go:build ignore

#include "task_check.h"

enum { SPINNERS = 3, SLEEPERS = 4 };

struct loadavg {
	unsigned l[3][2]; // integer and hundredths
	int running, total, last;
};

static struct loadavg read_loadavg(void) {
	char buf[256];
	CHECK(read_text("/proc/loadavg", buf, sizeof buf) > 0);
	struct loadavg la;
	int n = -1;
	if (sscanf(buf, "%u.%2u %u.%2u %u.%2u %d/%d %d\n%n", &la.l[0][0], &la.l[0][1], &la.l[1][0], &la.l[1][1],
		   &la.l[2][0], &la.l[2][1], &la.running, &la.total, &la.last, &n) != 9 ||
	    n != (int)strlen(buf))
		FAIL("/proc/loadavg: %s", buf);
	// Exactly two decimals, single spaces, one trailing newline.
	char again[256];
	snprintf(again, sizeof again, "%u.%02u %u.%02u %u.%02u %d/%d %d\n", la.l[0][0], la.l[0][1], la.l[1][0],
		 la.l[1][1], la.l[2][0], la.l[2][1], la.running, la.total, la.last);
	if (strcmp(again, buf) != 0)
		FAIL("/proc/loadavg not in Linux's format: %s", buf);
	CHECK(la.running >= 1); // the reader
	CHECK(la.running <= la.total);
	CHECK(la.last > 0);
	return la;
}

static atomic_int started, stop;

static void *spin(void *arg) {
	(void)arg;
	atomic_fetch_add(&started, 1);
	while (!atomic_load(&stop))
		;
	return NULL;
}

static atomic_int asleep;
static void *sleep_on_futex(void *arg) {
	(void)arg;
	atomic_fetch_add(&asleep, 1);
	while (!atomic_load(&stop))
		futex(&stop, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
	return NULL;
}

int main(void) {
	read_loadavg();

	pthread_t sp[SPINNERS], sl[SLEEPERS];
	for (int i = 0; i < SLEEPERS; i++)
		CHECK_EQ(pthread_create(&sl[i], NULL, sleep_on_futex, NULL), 0);
	for (int i = 0; i < SPINNERS; i++)
		CHECK_EQ(pthread_create(&sp[i], NULL, spin, NULL), 0);
	while (atomic_load(&started) < SPINNERS || atomic_load(&asleep) < SLEEPERS)
		usleep(1000);
	struct loadavg la = read_loadavg();
	CHECK(la.running >= SPINNERS + 1);
	CHECK(la.total >= SPINNERS + SLEEPERS + 1);
	atomic_store(&stop, 1);
	futex(&stop, FUTEX_WAKE_PRIVATE, SLEEPERS, NULL, NULL, 0);
	for (int i = 0; i < SPINNERS; i++)
		CHECK_EQ(pthread_join(sp[i], NULL), 0);
	for (int i = 0; i < SLEEPERS; i++)
		CHECK_EQ(pthread_join(sl[i], NULL), 0);

	int p[2];
	CHECK_OK(pipe(p));
	pid_t pid = XFORK();
	if (pid == 0) {
		char c;
		close(p[1]);
		_exit(read(p[0], &c, 1) == 0 ? 0 : 1);
	}
	la = read_loadavg();
	CHECK(la.last >= pid);
	close(p[1]);
	WAIT_EXIT(pid, 0);
	return 0;
}
