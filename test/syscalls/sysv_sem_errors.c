// sysv_sem_errors: semget's key rules (ENOENT without IPC_CREAT, EEXIST
// with IPC_CREAT|IPC_EXCL, EINVAL for more semaphores than the set has,
// for 0 on creation, or past SEMMSL), semop's argument errors (EINVAL for
// no operations or a bad ID, E2BIG past SEMOPM, EFBIG for a semaphore past
// the set, ERANGE past SEMVMX, EFAULT, EINVAL for a bad timeout), semctl's
// (EINVAL for a bad ID, stale sequence, semaphore number or command;
// ERANGE for SETVAL/SETALL past SEMVMX), permissions (EACCES for
// semget/semop/GETVAL/SETVAL/IPC_STAT without the mode bits, read access
// enough for wait-for-zero, EPERM for IPC_RMID/IPC_SET by a non-owner,
// SEM_STAT_ANY ignoring them), IPC_SET, SEM_STAT by index, and SEM_INFO's
// usage counts in a fresh IPC namespace (natively after
// unshare(CLONE_NEWIPC); the sandbox is one per run and refuses it).
//
//go:build ignore

#include "fs_check.h"
#include <sys/ipc.h>
#include <sys/sem.h>

union semun {
	int val;
	struct semid_ds *buf;
	unsigned short *array;
	struct seminfo *__buf;
};

static int id_, key_;

static int op(int id, int num, int delta, int flg) {
	struct sembuf sb = {.sem_num = num, .sem_op = delta, .sem_flg = flg};
	return semop(id, &sb, 1);
}

static void nobody(void *arg) {
	(void)arg;
	struct semid_ds ds;
	union semun u = {.buf = &ds};
	CHECK_EQ(semget(key_, 0, 0), id_); // asks for nothing
	CHECK_ERR(semget(key_, 0, 0400), EACCES);
	CHECK_ERR(semget(key_, 3, 0400), EACCES);
	CHECK_ERR(semget(key_, 4, 0400), EINVAL); // the size comes first
	CHECK_ERR(op(id_, 0, 1, 0), EACCES);
	CHECK_ERR(op(id_, 0, 0, IPC_NOWAIT), EACCES);
	CHECK_ERR(semctl(id_, 0, GETVAL), EACCES);
	CHECK_ERR(semctl(id_, 9, GETVAL), EACCES); // before the number
	u.val = 1;
	CHECK_ERR(semctl(id_, 0, SETVAL, u), EACCES);
	u.buf = &ds;
	CHECK_ERR(semctl(id_, 0, IPC_STAT, u), EACCES);
	CHECK_ERR(semctl(id_ & 0x7fff, 0, SEM_STAT, u), EACCES);
	CHECK_EQ(semctl(id_ & 0x7fff, 0, SEM_STAT_ANY, u), id_);
	CHECK_EQ(ds.sem_nsems, 3);
	CHECK_ERR(semctl(id_, 0, IPC_RMID), EPERM);
	CHECK_ERR(semctl(id_, 0, IPC_SET, u), EPERM);
}

static void nobody_read(void *arg) {
	(void)arg;
	// Mode 0604: others may read, which is what wait-for-zero needs.
	CHECK_EQ(semctl(id_, 1, GETVAL), 0);
	CHECK_OK(op(id_, 1, 0, IPC_NOWAIT));
	CHECK_ERR(op(id_, 1, 1, IPC_NOWAIT), EACCES);
}

int main(void) {
	int fresh = unshare(CLONE_NEWIPC) == 0 || errno == EINVAL;
	struct seminfo si;
	union semun u = {.__buf = &si};

	// semget arguments.
	CHECK_ERR(semget(IPC_PRIVATE, 0, IPC_CREAT | 0600), EINVAL);
	CHECK_ERR(semget(IPC_PRIVATE, -1, IPC_CREAT | 0600), EINVAL);
	CHECK_ERR(semget(IPC_PRIVATE, 32001, IPC_CREAT | 0600), EINVAL);
	key_ = 0x5e0d0000 | (getpid() & 0xffff);
	CHECK_ERR(semget(key_, 3, 0600), ENOENT);
	id_ = semget(key_, 3, IPC_CREAT | 0600);
	CHECK(id_ >= 0);
	CHECK_ERR(semget(key_, 3, IPC_CREAT | IPC_EXCL | 0600), EEXIST);
	CHECK_ERR(semget(key_, 4, IPC_CREAT | IPC_EXCL | 0600), EEXIST); // EEXIST first
	CHECK_EQ(semget(key_, 3, IPC_CREAT | 0600), id_);
	CHECK_EQ(semget(key_, 0, 0), id_);
	CHECK_ERR(semget(key_, 4, 0), EINVAL);
	int other = semget(IPC_PRIVATE, 5, 0640);
	CHECK(other >= 0 && other != id_);
	if (fresh) {
		memset(&si, 0xa5, sizeof si);
		CHECK_EQ(semctl(0, 0, SEM_INFO, u), 1); // the highest index
		CHECK_EQ(si.semusz, 2);                 // sets
		CHECK_EQ(si.semaem, 3 + 5);             // semaphores
		CHECK_EQ(si.semmsl, 32000);
		CHECK_EQ(semctl(0, 0, IPC_INFO, u), 1);
		CHECK_EQ(si.semusz, 20);
		CHECK_EQ(si.semaem, 32767);
	}

	// semop arguments.
	struct sembuf sb[501];
	memset(sb, 0, sizeof sb);
	CHECK_ERR(semop(id_, sb, 0), EINVAL);
	CHECK_ERR(semop(id_, sb, 501), E2BIG);
	CHECK_ERR(semop(id_, NULL, 501), E2BIG); // before the copy
	CHECK_ERR(semop(id_, NULL, 1), EFAULT);
	CHECK_ERR(semop(-1, sb, 1), EINVAL);
	CHECK_ERR(semop(id_ + 0x8000, sb, 1), EINVAL);
	sb[0].sem_flg = IPC_NOWAIT;
	CHECK_OK(semop(id_, sb, 500)); // 500 wait-for-zero on 0
	sb[1].sem_num = 3;
	CHECK_ERR(semop(id_, sb, 2), EFBIG);
	CHECK_OK(op(id_, 2, 32767, 0));
	CHECK_ERR(op(id_, 2, 1, 0), ERANGE);
	CHECK_ERR(op(id_, 2, 1, IPC_NOWAIT), ERANGE);
	struct sembuf dup[2] = {{2, -1, 0}, {2, 2, 0}}; // -1 then +2: past SEMVMX
	CHECK_ERR(semop(id_, dup, 2), ERANGE);
	CHECK_EQ(semctl(id_, 2, GETVAL), 32767);
	struct sembuf dup2[2] = {{2, -2, 0}, {2, 1, 0}}; // in order: fine
	CHECK_OK(semop(id_, dup2, 2));
	CHECK_EQ(semctl(id_, 2, GETVAL), 32766);
	struct timespec bad = {0, 1000000000};
	CHECK_ERR(semtimedop(id_, sb, 1, &bad), EINVAL);
	bad.tv_sec = -1, bad.tv_nsec = 0;
	CHECK_ERR(semtimedop(id_, sb, 1, &bad), EINVAL);
	CHECK_ERR(semtimedop(id_, sb, 1, (void *)8), EFAULT);
	CHECK_ERR(semtimedop(id_, sb, 0, (void *)8), EFAULT); // the timeout first

	// semctl arguments.
	CHECK_ERR(semctl(-1, 0, GETVAL), EINVAL);
	CHECK_ERR(semctl(id_ + 0x8000, 0, GETVAL), EINVAL);
	CHECK_ERR(semctl(id_, 3, GETVAL), EINVAL);
	CHECK_ERR(semctl(id_, -1, GETNCNT), EINVAL);
	CHECK_ERR(semctl(id_, 0, 12345), EINVAL);
	CHECK_ERR(semctl(id_, 0, -1), EINVAL);
	u.val = 32768;
	CHECK_ERR(semctl(id_, 0, SETVAL, u), ERANGE);
	CHECK_ERR(semctl(-5, 0, SETVAL, u), EINVAL);
	u.val = -1;
	CHECK_ERR(semctl(id_, 9, SETVAL, u), ERANGE); // the value first
	u.val = 1;
	CHECK_ERR(semctl(id_, 3, SETVAL, u), EINVAL);
	unsigned short vals[3] = {1, 32768, 2};
	u.array = vals;
	CHECK_ERR(semctl(id_, 0, SETALL, u), ERANGE);
	CHECK_EQ(semctl(id_, 0, GETVAL), 0);
	u.array = (void *)8;
	CHECK_ERR(semctl(id_, 0, SETALL, u), EFAULT);
	CHECK_ERR(semctl(id_, 0, GETALL, u), EFAULT);
	CHECK_ERR(semctl(id_, 0, IPC_STAT, u), EFAULT);
	CHECK_ERR(semctl(id_, 0, IPC_SET, u), EFAULT);

	// SEM_STAT takes an index and returns the ID.
	struct semid_ds ds;
	u.buf = &ds;
	CHECK_EQ(semctl(id_ & 0x7fff, 0, SEM_STAT, u), id_);
	CHECK_EQ(ds.sem_nsems, 3);
	CHECK_EQ(ds.sem_perm.__key, key_);
	CHECK_ERR(semctl(0x7ffe, 0, SEM_STAT, u), EINVAL);

	// IPC_SET by the owner: mode bits and owner change.
	CHECK_EQ(semctl(other, 0, IPC_STAT, u), 0);
	CHECK_EQ(ds.sem_nsems, 5);
	ds.sem_perm.mode = 0604 | 0170000;
	CHECK_OK(semctl(other, 0, IPC_SET, u));
	CHECK_EQ(semctl(other, 0, IPC_STAT, u), 0);
	CHECK_EQ(ds.sem_perm.mode, 0604);
	ds.sem_perm.uid = -1;
	CHECK_ERR(semctl(other, 0, IPC_SET, u), EINVAL);

	if (geteuid() == 0) {
		as_nobody(nobody, NULL);
		id_ = other;
		as_nobody(nobody_read, NULL);
		// Given away, a set is the new owner's to remove.
		CHECK_EQ(semctl(other, 0, IPC_STAT, u), 0);
		ds.sem_perm.uid = NOBODY;
		CHECK_OK(semctl(other, 0, IPC_SET, u));
		CHECK_EQ(semctl(other, 0, IPC_STAT, u), 0);
		CHECK_EQ(ds.sem_perm.uid, NOBODY);
		CHECK_EQ(ds.sem_perm.cuid, 0);
	}
	CHECK_OK(semctl(other, 0, IPC_RMID));
	CHECK_ERR(semctl(other, 0, IPC_RMID), EINVAL);
	CHECK_OK(semctl(semget(key_, 0, 0), 0, IPC_RMID));
	CHECK_ERR(semget(key_, 0, 0), ENOENT);
	if (fresh) {
		u.__buf = &si;
		memset(&si, 0xa5, sizeof si);
		CHECK_EQ(semctl(0, 0, SEM_INFO, u), 0);
		CHECK_EQ(si.semusz, 0);
		CHECK_EQ(si.semaem, 0);
	}
	return 0;
}
