// sysv_shm_rmid_forced: with kernel.shm_rmid_forced=1 (set for the run, in
// a fresh IPC namespace natively) a segment goes when its last attach does
// even without IPC_RMID; a segment whose creator exits with nothing
// attached goes at once, key and all; one that is still attached when its
// creator exits keeps its key, unmarked, and goes with the last detach
// (Linux 5.16 and later; earlier kernels marked it SHM_DEST). The System V limits set with it show in /proc/sys and IPC_INFO.
//
// sandbox: sysctl kernel.shm_rmid_forced=1
// sandbox: sysctl kernel.msgmax=4096
// sandbox: sysctl kernel.sem=250 32000 32 128
//
//go:build ignore

#include "task_check.h"
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>

#define KEY_B 0x5eed0b
#define KEY_C 0x5eed0c

static void read_sysctl(const char *path, char *buf, size_t n) {
	int fd = open(path, O_RDONLY);
	CHECK(fd >= 0);
	ssize_t got = read(fd, buf, n - 1);
	CHECK(got > 0);
	buf[got] = 0;
	close(fd);
}

static int gone(int id) {
	struct shmid_ds ds;
	return shmctl(id, IPC_STAT, &ds) < 0 && errno == EINVAL;
}

int main(void) {
	char buf[128];
	read_sysctl("/proc/sys/kernel/shm_rmid_forced", buf, sizeof buf);
	CHECK(strcmp(buf, "1\n") == 0);
	read_sysctl("/proc/sys/kernel/msgmax", buf, sizeof buf);
	CHECK(strcmp(buf, "4096\n") == 0);
	read_sysctl("/proc/sys/kernel/sem", buf, sizeof buf);
	CHECK(strcmp(buf, "250\t32000\t32\t128\n") == 0);

	// The limits apply: msgmax bounds a message, semopm a semop.
	int q = msgget(IPC_PRIVATE, 0600);
	CHECK(q >= 0);
	static struct { long mtype; char text[8192]; } msg = {1, {0}};
	CHECK_ERR(msgsnd(q, &msg, 4097, IPC_NOWAIT), EINVAL);
	CHECK_OK(msgsnd(q, &msg, 4096, IPC_NOWAIT));
	CHECK_OK(msgctl(q, IPC_RMID, NULL));
	struct msginfo mi;
	CHECK(msgctl(0, IPC_INFO, (struct msqid_ds *)&mi) >= 0);
	CHECK_EQ(mi.msgmax, 4096);
	int s = semget(IPC_PRIVATE, 1, 0600);
	CHECK(s >= 0);
	struct sembuf ops[33];
	for (int i = 0; i < 33; i++) ops[i] = (struct sembuf){0, 1, 0};
	CHECK_ERR(semop(s, ops, 33), E2BIG);
	CHECK_OK(semop(s, ops, 32));
	CHECK_OK(semctl(s, 0, IPC_RMID));

	// The last detach destroys a segment nobody removed.
	int a = shmget(IPC_PRIVATE, 4096, 0600);
	CHECK(a >= 0);
	char *p = shmat(a, NULL, 0);
	CHECK(p != (char *)-1);
	p[0] = 1;
	CHECK(!gone(a));
	CHECK_OK(shmdt(p));
	CHECK(gone(a));

	// A segment whose creator exits unattached goes with it.
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		_exit(shmget(KEY_B, 4096, IPC_CREAT | IPC_EXCL | 0600) >= 0 ? 0 : 1);
	}
	int status;
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK_ERR(shmget(KEY_B, 0, 0), ENOENT);

	// One still attached when its creator exits stays, key and all, until
	// the last detach.
	int ready[2], done[2];
	CHECK_OK(pipe(ready));
	CHECK_OK(pipe(done));
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		int id = shmget(KEY_C, 4096, IPC_CREAT | IPC_EXCL | 0600);
		if (id < 0 || write(ready[1], &id, sizeof id) != sizeof id) _exit(1);
		char c;
		_exit(read(done[0], &c, 1) == 1 ? 0 : 1);
	}
	int c;
	CHECK_EQ(read(ready[0], &c, sizeof c), (ssize_t)sizeof c);
	char *pc = shmat(c, NULL, 0);
	CHECK(pc != (char *)-1);
	CHECK_EQ(write(done[1], "x", 1), 1);
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	struct shmid_ds ds;
	CHECK_OK(shmctl(c, IPC_STAT, &ds));
	CHECK(!(ds.shm_perm.mode & SHM_DEST));
	CHECK_EQ(ds.shm_perm.__key, KEY_C);
	CHECK_EQ(shmget(KEY_C, 0, 0), c);
	CHECK_OK(shmdt(pc));
	CHECK(gone(c));
	CHECK_ERR(shmget(KEY_C, 0, 0), ENOENT);
	return 0;
}
