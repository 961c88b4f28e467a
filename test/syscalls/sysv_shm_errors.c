// sysv_shm_errors: shmget's key rules (ENOENT without IPC_CREAT, EEXIST
// with IPC_CREAT|IPC_EXCL, EINVAL for a size past an existing segment's or
// outside SHMMIN..SHMMAX), shmctl's bad IDs and commands (EINVAL),
// permissions (EACCES for shmget/shmat/IPC_STAT without the mode bits,
// EPERM for IPC_RMID/IPC_SET by a non-owner, SHM_STAT_ANY ignoring them),
// IPC_SET, SHM_STAT by index, SHM_LOCK/SHM_UNLOCK, and the information
// calls: shmctl IPC_INFO/SHM_INFO, msgctl IPC_INFO/MSG_INFO and semctl
// IPC_INFO/SEM_INFO with Linux's default limits and usage counts in a
// fresh IPC namespace (natively after unshare(CLONE_NEWIPC); the sandbox
// is one per run and refuses the unshare with EINVAL).
//
//go:build ignore

#include "fs_check.h"
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>

union semun {
	int val;
	struct semid_ds *buf;
	unsigned short *array;
	struct seminfo *__buf;
};

static int id_, key_;

static void nobody(void *arg) {
	(void)arg;
	struct shmid_ds ds;
	CHECK_EQ(shmget(key_, 0, 0), id_); // asks for nothing
	CHECK_ERR(shmget(key_, 0, 0400), EACCES);
	CHECK_ERR(shmat(id_, NULL, 0), EACCES);
	CHECK_ERR(shmat(id_, NULL, SHM_RDONLY), EACCES);
	CHECK_ERR(shmctl(id_, IPC_STAT, &ds), EACCES);
	CHECK_ERR(shmctl(id_ & 0x7fff, SHM_STAT, &ds), EACCES);
	CHECK_EQ(shmctl(id_ & 0x7fff, SHM_STAT_ANY, &ds), id_);
	CHECK_EQ(ds.shm_segsz, 100);
	CHECK_ERR(shmctl(id_, IPC_RMID, NULL), EPERM);
	CHECK_ERR(shmctl(id_, IPC_SET, &ds), EPERM);
	CHECK_ERR(shmctl(id_, SHM_LOCK, NULL), EPERM);
}

static void nobody_other_read(void *arg) {
	(void)arg;
	char *p = shmat(id_, NULL, SHM_RDONLY); // mode 0604
	CHECK(p != (void *)-1);
	CHECK_OK(shmdt(p));
	CHECK_ERR(shmat(id_, NULL, 0), EACCES);
}

int main(void) {
	int fresh = unshare(CLONE_NEWIPC) == 0 || errno == EINVAL;
	struct shminfo in;
	struct shm_info si;
	struct shmid_ds ds;
	if (fresh) {
		CHECK_EQ(shmctl(0, IPC_INFO, (struct shmid_ds *)&in), 0);
		CHECK_EQ(in.shmmax, ~0UL - (1UL << 24));
		CHECK_EQ(in.shmall, ~0UL - (1UL << 24));
		CHECK_EQ(in.shmmni, 4096);
		CHECK_EQ(in.shmseg, 4096);
		CHECK_EQ(in.shmmin, 1);
		memset(&si, 0xa5, sizeof si);
		CHECK_EQ(shmctl(0, SHM_INFO, (struct shmid_ds *)&si), 0);
		CHECK_EQ(si.used_ids, 0);
		CHECK_EQ(si.shm_tot, 0);
		CHECK_EQ(si.shm_rss, 0);
		CHECK_EQ(si.shm_swp, 0);

		struct msginfo mi;
		CHECK_EQ(msgctl(0, IPC_INFO, (struct msqid_ds *)&mi), 0);
		CHECK_EQ(mi.msgmax, 8192);
		CHECK_EQ(mi.msgmnb, 16384);
		CHECK_EQ(mi.msgmni, 32000);
		CHECK_EQ(mi.msgssz, 16);
		CHECK_EQ(mi.msgseg, 0xffff);
		CHECK_EQ(mi.msgpool, 32000 * 16384 / 1024);
		CHECK_EQ(msgctl(0, MSG_INFO, (struct msqid_ds *)&mi), 0);
		CHECK_EQ(mi.msgpool, 0);
		CHECK_EQ(mi.msgmap, 0);
		CHECK_EQ(mi.msgtql, 0);
		CHECK_EQ(mi.msgmax, 8192);

		struct seminfo sm;
		union semun u = {.__buf = &sm};
		CHECK_EQ(semctl(0, 0, IPC_INFO, u), 0);
		CHECK_EQ(sm.semmsl, 32000);
		CHECK_EQ(sm.semmni, 32000);
		CHECK_EQ(sm.semopm, 500);
		CHECK_EQ(sm.semvmx, 32767);
		CHECK_EQ(sm.semusz, 20);
		CHECK_EQ(semctl(0, 0, SEM_INFO, u), 0);
		CHECK_EQ(sm.semusz, 0);
		CHECK_EQ(sm.semaem, 0);
	}
	CHECK_ERR(msgctl(-1, IPC_INFO, NULL), EINVAL);
	CHECK_ERR(semctl(-1, 0, IPC_INFO, NULL), EINVAL);
	CHECK_ERR(shmctl(-1, IPC_INFO, (struct shmid_ds *)&in), EINVAL);
	CHECK(shmctl(0, IPC_INFO, (struct shmid_ds *)&in) >= 0);
	CHECK(in.shmmin == 1 && in.shmmni > 0 && in.shmmax > 0);

	// Sizes.
	CHECK_ERR(shmget(IPC_PRIVATE, 0, IPC_CREAT | 0600), EINVAL);
	CHECK_ERR(shmget(IPC_PRIVATE, ~0UL, IPC_CREAT | 0600), EINVAL);

	// Keys.
	key_ = 0x5c0d0000 | (getpid() & 0xffff);
	CHECK_ERR(shmget(key_, 100, 0600), ENOENT);
	id_ = shmget(key_, 100, IPC_CREAT | 0600);
	CHECK(id_ >= 0);
	CHECK_ERR(shmget(key_, 100, IPC_CREAT | IPC_EXCL | 0600), EEXIST);
	CHECK_EQ(shmget(key_, 100, IPC_CREAT | 0600), id_);
	CHECK_EQ(shmget(key_, 50, 0), id_);
	CHECK_EQ(shmget(key_, 0, 0), id_);
	CHECK_ERR(shmget(key_, 101, 0), EINVAL);
	CHECK_ERR(shmget(key_, 101, IPC_CREAT), EINVAL);
	int other = shmget(IPC_PRIVATE, 3 * 4096 + 1, 0640);
	CHECK(other >= 0 && other != id_);
	CHECK_EQ(shmget(key_, 0, 0), id_);
	if (fresh) {
		memset(&si, 0, sizeof si);
		int maxidx = shmctl(0, SHM_INFO, (struct shmid_ds *)&si);
		CHECK_EQ(si.used_ids, 2);
		CHECK_EQ(si.shm_tot, 1 + 4);
		CHECK_EQ(maxidx, 1);
		CHECK_EQ(shmctl(0, IPC_INFO, (struct shmid_ds *)&in), 1);
	}

	// Bad IDs and commands.
	CHECK_ERR(shmctl(-1, IPC_STAT, &ds), EINVAL);
	CHECK_ERR(shmctl(id_ + 0x8000, IPC_STAT, &ds), EINVAL); // wrong sequence
	CHECK_ERR(shmctl(id_, 12345, &ds), EINVAL);
	CHECK_ERR(shmat(-1, NULL, 0), EINVAL);
	CHECK_ERR(shmat(id_ + 0x8000, NULL, 0), EINVAL);
	CHECK_ERR(shmdt((void *)0x10000), EINVAL);
	CHECK_ERR(shmctl(id_, IPC_STAT, (void *)8), EFAULT);

	// SHM_STAT takes an index and returns the ID.
	CHECK_EQ(shmctl(id_ & 0x7fff, SHM_STAT, &ds), id_);
	CHECK_EQ(ds.shm_segsz, 100);
	CHECK_EQ(ds.shm_perm.__key, key_);

	// IPC_SET by the owner: mode bits and owner change, ctime too.
	CHECK_EQ(shmctl(other, IPC_STAT, &ds), 0);
	CHECK_EQ(ds.shm_segsz, 3 * 4096 + 1);
	ds.shm_perm.mode = 0604 | 0170000;
	CHECK_OK(shmctl(other, IPC_SET, &ds));
	CHECK_EQ(shmctl(other, IPC_STAT, &ds), 0);
	CHECK_EQ(ds.shm_perm.mode, 0604);

	// SHM_LOCK and SHM_UNLOCK set and clear SHM_LOCKED.
	if (geteuid() == 0) {
		CHECK_OK(shmctl(other, SHM_LOCK, NULL));
		CHECK_EQ(shmctl(other, IPC_STAT, &ds), 0);
		CHECK_EQ(ds.shm_perm.mode, 0604 | SHM_LOCKED);
		CHECK_OK(shmctl(other, SHM_UNLOCK, NULL));
		CHECK_EQ(shmctl(other, IPC_STAT, &ds), 0);
		CHECK_EQ(ds.shm_perm.mode, 0604);

		// Permissions.
		as_nobody(nobody, NULL);
		id_ = other;
		as_nobody(nobody_other_read, NULL);
		// Given away, a segment is the new owner's to remove.
		CHECK_EQ(shmctl(other, IPC_STAT, &ds), 0);
		ds.shm_perm.uid = NOBODY;
		CHECK_OK(shmctl(other, IPC_SET, &ds));
		CHECK_EQ(shmctl(other, IPC_STAT, &ds), 0);
		CHECK_EQ(ds.shm_perm.uid, NOBODY);
		CHECK_EQ(ds.shm_perm.cuid, 0);
	}
	CHECK_OK(shmctl(other, IPC_RMID, NULL));
	CHECK_OK(shmctl(shmget(key_, 0, 0), IPC_RMID, NULL));
	CHECK_ERR(shmget(key_, 0, 0), ENOENT);
	if (fresh) {
		memset(&si, 0xa5, sizeof si);
		CHECK_EQ(shmctl(0, SHM_INFO, (struct shmid_ds *)&si), 0);
		CHECK_EQ(si.used_ids, 0);
		CHECK_EQ(si.shm_tot, 0);
	}
	return 0;
}
