// sysv_ipc_userns: System V IPC objects show their owner and creator as
// the caller's user namespace sees them, and IPC_SET takes the new owner
// in the caller's namespace. Objects root made are owned by 65534 seen
// from a namespace that maps only user 1234 (as 0); objects made there
// are owned by 0 inside and by 1234 outside; IPC_SET to an ID the
// namespace does not map is EINVAL; to one it maps works.
//
//go:build ignore

#include "userns_check.h"
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>

struct ids {
	int shm, sem, msg;
};

static struct ids make_ids(void) {
	struct ids o;
	o.shm = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0644);
	o.sem = semget(IPC_PRIVATE, 1, IPC_CREAT | 0644);
	o.msg = msgget(IPC_PRIVATE, IPC_CREAT | 0644);
	CHECK(o.shm >= 0 && o.sem >= 0 && o.msg >= 0);
	return o;
}

// check_owner checks the owner and creator each object's IPC_STAT shows.
static void check_owner(struct ids o, unsigned uid, unsigned gid) {
	struct shmid_ds sd;
	CHECK_OK(shmctl(o.shm, IPC_STAT, &sd));
	CHECK_EQ((long)sd.shm_perm.uid, uid);
	CHECK_EQ((long)sd.shm_perm.cuid, uid);
	CHECK_EQ((long)sd.shm_perm.gid, gid);
	CHECK_EQ((long)sd.shm_perm.cgid, gid);
	struct semid_ds ss;
	CHECK_OK(semctl(o.sem, 0, IPC_STAT, &ss));
	CHECK_EQ((long)ss.sem_perm.uid, uid);
	CHECK_EQ((long)ss.sem_perm.cuid, uid);
	CHECK_EQ((long)ss.sem_perm.gid, gid);
	struct msqid_ds ms;
	CHECK_OK(msgctl(o.msg, IPC_STAT, &ms));
	CHECK_EQ((long)ms.msg_perm.uid, uid);
	CHECK_EQ((long)ms.msg_perm.cgid, gid);
}

// set_owner sets each object's owner; all must give the same result.
static int set_owner(struct ids o, unsigned uid, unsigned gid) {
	struct shmid_ds sd;
	CHECK_OK(shmctl(o.shm, IPC_STAT, &sd));
	sd.shm_perm.uid = uid, sd.shm_perm.gid = gid;
	int r = shmctl(o.shm, IPC_SET, &sd), e = errno;
	struct semid_ds ss;
	CHECK_OK(semctl(o.sem, 0, IPC_STAT, &ss));
	ss.sem_perm.uid = uid, ss.sem_perm.gid = gid;
	CHECK_EQ(semctl(o.sem, 0, IPC_SET, &ss) == 0 ? 0 : errno, r == 0 ? 0 : e);
	struct msqid_ds ms;
	CHECK_OK(msgctl(o.msg, IPC_STAT, &ms));
	ms.msg_perm.uid = uid, ms.msg_perm.gid = gid;
	CHECK_EQ(msgctl(o.msg, IPC_SET, &ms) == 0 ? 0 : errno, r == 0 ? 0 : e);
	return r == 0 ? 0 : e;
}

static void remove_ids(struct ids o) {
	CHECK_OK(shmctl(o.shm, IPC_RMID, NULL));
	CHECK_OK(semctl(o.sem, 0, IPC_RMID));
	CHECK_OK(msgctl(o.msg, IPC_RMID, NULL));
}

int main(void) {
	if (getuid() != 0)
		return 0; // setresuid and uid_map need root
	struct ids root_ids = make_ids();
	check_owner(root_ids, 0, 0);
	int c2p[2], p2c[2], idp[2];
	CHECK_OK(pipe(c2p));
	CHECK_OK(pipe(p2c));
	CHECK_OK(pipe(idp));
	pid_t pid = XFORK();
	if (pid == 0) {
		CHECK_OK(setresgid(1234, 1234, 1234));
		CHECK_OK(setresuid(1234, 1234, 1234));
		CHECK_OK(unshare(CLONE_NEWUSER));
		sync_post(c2p[1]);
		sync_wait(p2c[0]);
		CHECK_EQ((long)getuid(), 0);
		check_owner(root_ids, 65534, 65534);
		struct ids mine = make_ids();
		check_owner(mine, 0, 0);
		CHECK_EQ(set_owner(mine, 5, 0), EINVAL);
		CHECK_EQ(set_owner(mine, 0, 5), EINVAL);
		CHECK_EQ(set_owner(mine, 0, 0), 0);
		check_owner(mine, 0, 0);
		CHECK_EQ(write(idp[1], &mine, sizeof mine), (ssize_t)sizeof mine);
		_exit(0);
	}
	sync_wait(c2p[0]);
	CHECK_OK(proc_write(pid, "setgroups", "deny"));
	CHECK_OK(proc_write(pid, "uid_map", "0 1234 1"));
	CHECK_OK(proc_write(pid, "gid_map", "0 1234 1"));
	sync_post(p2c[1]);
	int ws;
	CHECK_EQ(waitpid(pid, &ws, 0), pid);
	CHECK(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
	struct ids theirs;
	CHECK_EQ(read(idp[0], &theirs, sizeof theirs), (ssize_t)sizeof theirs);
	check_owner(theirs, 1234, 1234);
	CHECK_EQ(set_owner(theirs, 7, 7), 0);
	struct shmid_ds sd;
	CHECK_OK(shmctl(theirs.shm, IPC_STAT, &sd));
	CHECK_EQ((long)sd.shm_perm.uid, 7);
	CHECK_EQ((long)sd.shm_perm.cuid, 1234);
	remove_ids(theirs);
	remove_ids(root_ids);
	return 0;
}
