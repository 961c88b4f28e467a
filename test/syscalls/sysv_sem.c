// sysv_sem: System V semaphores between processes. semget(IPC_PRIVATE)
// makes a set of zeroed semaphores that IPC_STAT describes (nsems, owner,
// no semop yet, ctime set); SETVAL/GETVAL/SETALL/GETALL/GETPID read and
// write them; a parent and a child ping-pong through two semaphores;
// IPC_NOWAIT fails with EAGAIN and changes nothing (an array is atomic);
// semtimedop times out with EAGAIN; GETNCNT and GETZCNT count the sleepers
// on the semaphore each one blocks on; a wait-for-zero sleeper wakes when
// the value reaches 0; sleeping decrements complete in FIFO order, each
// performed as soon as it can (a larger earlier one holds up nobody once
// the value is too small for it); IPC_RMID wakes a sleeper with EIDRM;
// /proc/sysvipc/sem lists the set.
//
//go:build ignore

#include "task_check.h"
#include <sys/ipc.h>
#include <sys/sem.h>
#include <time.h>

union semun {
	int val;
	struct semid_ds *buf;
	unsigned short *array;
};

static int op(int id, int num, int delta, int flg) {
	struct sembuf sb = {.sem_num = num, .sem_op = delta, .sem_flg = flg};
	return semop(id, &sb, 1);
}

static int getval(int id, int num) { return semctl(id, num, GETVAL); }

// wait_count waits (about 5 s at most) until cmd (GETNCNT or GETZCNT) of
// semaphore num reads want.
static void wait_count(int id, int num, int cmd, int want) {
	for (int i = 0; i < 5000; i++) {
		int n = semctl(id, num, cmd);
		CHECK(n >= 0);
		if (n == want)
			return;
		usleep(1000);
	}
	FAIL("semaphore %d: count %d never reached %d (now %d)", num, cmd, want, semctl(id, num, cmd));
}

int main(void) {
	time_t now = time(NULL);
	int id = semget(IPC_PRIVATE, 3, IPC_CREAT | 0600);
	CHECK(id >= 0);
	struct semid_ds ds;
	union semun u = {.buf = &ds};
	memset(&ds, 0xa5, sizeof ds);
	CHECK_EQ(semctl(id, 0, IPC_STAT, u), 0);
	CHECK_EQ(ds.sem_nsems, 3);
	CHECK_EQ(ds.sem_otime, 0);
	CHECK(ds.sem_ctime >= now - 5 && ds.sem_ctime <= now + 5);
	CHECK_EQ(ds.sem_perm.__key, IPC_PRIVATE);
	CHECK_EQ(ds.sem_perm.mode, 0600);
	CHECK_EQ(ds.sem_perm.uid, geteuid());
	CHECK_EQ(ds.sem_perm.cuid, geteuid());
	CHECK_EQ(ds.sem_perm.gid, getegid());

	// Values and pids.
	unsigned short all[3];
	u.array = all;
	CHECK_EQ(semctl(id, 0, GETALL, u), 0);
	CHECK(all[0] == 0 && all[1] == 0 && all[2] == 0);
	CHECK_EQ(semctl(id, 1, GETPID), 0);
	u.val = 7;
	CHECK_EQ(semctl(id, 1, SETVAL, u), 0);
	CHECK_EQ(getval(id, 1), 7);
	CHECK_EQ(semctl(id, 1, GETPID), getpid());
	CHECK_EQ(semctl(id, 0, GETPID), 0);
	unsigned short set[3] = {1, 2, 3};
	u.array = set;
	CHECK_EQ(semctl(id, 0, SETALL, u), 0);
	u.array = all;
	CHECK_EQ(semctl(id, 0, GETALL, u), 0);
	CHECK(all[0] == 1 && all[1] == 2 && all[2] == 3);
	CHECK_EQ(semctl(id, 0, GETPID), getpid());
	u.buf = &ds;
	CHECK_EQ(semctl(id, 0, IPC_STAT, u), 0);
	CHECK_EQ(ds.sem_otime, 0); // semctl is not a semop

	// An array is all or nothing; IPC_NOWAIT fails with EAGAIN.
	struct sembuf two[2] = {{0, -1, IPC_NOWAIT}, {1, -3, IPC_NOWAIT}};
	CHECK_ERR(semop(id, two, 2), EAGAIN);
	CHECK_EQ(getval(id, 0), 1);
	CHECK_EQ(getval(id, 1), 2);
	two[1].sem_op = -2;
	CHECK_OK(semop(id, two, 2));
	CHECK_EQ(getval(id, 0), 0);
	CHECK_EQ(getval(id, 1), 0);
	CHECK_ERR(op(id, 2, 0, IPC_NOWAIT), EAGAIN); // not zero
	CHECK_OK(op(id, 0, 0, IPC_NOWAIT));          // zero
	CHECK_EQ(semctl(id, 0, IPC_STAT, u), 0);
	CHECK(ds.sem_otime >= now - 5 && ds.sem_otime <= now + 5);

	// semtimedop times out with EAGAIN.
	struct timespec ts = {0, 50 * 1000 * 1000};
	struct sembuf dec = {2, -4, 0};
	long long t0 = now_ns(CLOCK_MONOTONIC);
	CHECK_ERR(semtimedop(id, &dec, 1, &ts), EAGAIN);
	CHECK(now_ns(CLOCK_MONOTONIC) - t0 >= 45 * 1000 * 1000LL);
	ts.tv_nsec = 0;
	CHECK_ERR(semtimedop(id, &dec, 1, &ts), EAGAIN);
	CHECK_EQ(getval(id, 2), 3);

	// Ping-pong: the child waits on 0 and posts 1, the parent the other
	// way round.
	u.val = 0;
	CHECK_OK(semctl(id, 0, SETVAL, u));
	CHECK_OK(semctl(id, 1, SETVAL, u));
	pid_t c = XFORK();
	if (c == 0) {
		for (int i = 0; i < 100; i++) {
			CHECK_OK(op(id, 0, -1, 0));
			CHECK_OK(op(id, 1, 1, 0));
		}
		_exit(0);
	}
	for (int i = 0; i < 100; i++) {
		CHECK_OK(op(id, 0, 1, 0));
		CHECK_OK(op(id, 1, -1, 0));
	}
	WAIT_EXIT(c, 0);
	CHECK_EQ(getval(id, 0), 0);
	CHECK_EQ(getval(id, 1), 0);
	// The last change of each is the other side's decrement, even when
	// performed for a sleeper by the poster.
	CHECK_EQ(semctl(id, 0, GETPID), c);
	CHECK_EQ(semctl(id, 1, GETPID), getpid());

	// FIFO completion: -2, -1, -1 sleep in that order on semaphore 0.
	int fds[2];
	CHECK_OK(pipe(fds));
	pid_t kids[3];
	int want[3] = {-2, -1, -1};
	for (int k = 0; k < 3; k++) {
		kids[k] = XFORK();
		if (kids[k] == 0) {
			CHECK_OK(op(id, 0, want[k], 0));
			char ch = '0' + k;
			CHECK_EQ(write(fds[1], &ch, 1), 1);
			_exit(0);
		}
		wait_count(id, 0, GETNCNT, k + 1);
	}
	CHECK_EQ(semctl(id, 1, GETNCNT), 0);
	CHECK_OK(op(id, 0, 1, 0)); // 1: too little for the first
	// The -1 sleepers are not held up by the -2 one: Linux scans the
	// queue in order and performs what it can.
	char got[4] = {0};
	CHECK_EQ(read(fds[0], got, 1), 1);
	CHECK_EQ(got[0], '1');
	wait_count(id, 0, GETNCNT, 2);
	CHECK_OK(op(id, 0, 2, 0)); // 2: the -2 one first
	CHECK_EQ(read(fds[0], got + 1, 1), 1);
	CHECK_EQ(got[1], '0');
	wait_count(id, 0, GETNCNT, 1);
	CHECK_EQ(getval(id, 0), 0);
	CHECK_OK(op(id, 0, 1, 0));
	CHECK_EQ(read(fds[0], got + 2, 1), 1);
	CHECK_EQ(got[2], '2');
	for (int k = 0; k < 3; k++)
		WAIT_EXIT(kids[k], 0);
	CHECK_EQ(getval(id, 0), 0);

	// Wait-for-zero: GETZCNT counts the sleeper, which wakes at 0.
	u.val = 2;
	CHECK_OK(semctl(id, 2, SETVAL, u));
	c = XFORK();
	if (c == 0) {
		CHECK_OK(op(id, 2, 0, 0));
		_exit(0);
	}
	wait_count(id, 2, GETZCNT, 1);
	CHECK_EQ(semctl(id, 2, GETNCNT), 0);
	CHECK_OK(op(id, 2, -1, 0));
	msleep(20);
	CHECK_EQ(semctl(id, 2, GETZCNT), 1);
	CHECK_OK(op(id, 2, -1, 0));
	WAIT_EXIT(c, 0);
	CHECK_EQ(semctl(id, 2, GETZCNT), 0);

	// A sleeper on an array counts only on the semaphore it blocks on.
	c = XFORK();
	if (c == 0) {
		struct sembuf arr[2] = {{1, 0, 0}, {2, -1, 0}}; // 1 is 0: passes; 2 blocks
		CHECK_OK(semop(id, arr, 2));
		_exit(0);
	}
	wait_count(id, 2, GETNCNT, 1);
	CHECK_EQ(semctl(id, 1, GETZCNT), 0);
	CHECK_EQ(semctl(id, 1, GETNCNT), 0);
	CHECK_OK(op(id, 2, 1, 0));
	WAIT_EXIT(c, 0);
	CHECK_EQ(getval(id, 2), 0);

	// /proc/sysvipc/sem lists the set.
	static char text[1 << 16];
	CHECK(read_text("/proc/sysvipc/sem", text, sizeof text) > 0);
	static const char hdr[] = "       key      semid perms      nsems   uid   gid  cuid  cgid      otime      ctime\n";
	CHECK(strncmp(text, hdr, strlen(hdr)) == 0);
	char line[256];
	snprintf(line, sizeof line, "\n         0 %10d   600          3 %5u %5u %5u %5u ", id, geteuid(), getegid(), geteuid(), getegid());
	CHECK(strstr(text, line) != NULL);

	// Removal wakes a sleeper with EIDRM.
	c = XFORK();
	if (c == 0) {
		CHECK_ERR(op(id, 0, -1, 0), EIDRM);
		_exit(0);
	}
	wait_count(id, 0, GETNCNT, 1);
	CHECK_OK(semctl(id, 0, IPC_RMID));
	WAIT_EXIT(c, 0);
	CHECK_ERR(semctl(id, 0, GETVAL), EINVAL);
	CHECK(read_text("/proc/sysvipc/sem", text, sizeof text) > 0);
	CHECK(strstr(text, line) == NULL);
	return 0;
}
