// ipc_namespace: unshare(CLONE_NEWIPC) and clone(CLONE_NEWIPC) give a
// process a new IPC namespace: the System V shared memory segments,
// message queues and semaphore sets and the POSIX message queues of the
// parent's namespace are not found by key or name there (and
// /proc/sysvipc does not list them), objects made there with the same
// keys are distinct and go with the namespace, and /proc/self/ns/ipc names
// another namespace. CLONE_NEWIPC with CLONE_SYSVSEM is EINVAL; without
// CAP_SYS_ADMIN, unshare is EPERM.
//
//go:build ignore

#include "task_check.h"
#include <linux/capability.h>
#include <mqueue.h>
#include <sched.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/stat.h>

static key_t shm_key, msg_key, sem_key;
static char mq_name[64];

static ino_t ns_ino(void) {
	struct stat st;
	CHECK_OK(stat("/proc/self/ns/ipc", &st));
	return st.st_ino;
}

// sysvipc_lists reports whether /proc/sysvipc/shm has a segment with key.
static int sysvipc_lists(key_t key) {
	static char buf[65536];
	CHECK(read_text("/proc/sysvipc/shm", buf, sizeof buf) > 0);
	char want[32];
	snprintf(want, sizeof want, "\n%10d ", (int)key);
	return strstr(buf, want) != NULL;
}

// in_new_namespace checks, in a fresh namespace, that none of the
// parent's objects are found and that objects made here are separate.
static int in_new_namespace(void *arg) {
	ino_t parent_ns = *(ino_t *)arg;
	CHECK(ns_ino() != parent_ns);
	CHECK_ERR(shmget(shm_key, 0, 0), ENOENT);
	CHECK_ERR(msgget(msg_key, 0), ENOENT);
	CHECK_ERR(semget(sem_key, 0, 0), ENOENT);
	CHECK_ERR(mq_open(mq_name, O_RDONLY), ENOENT);
	CHECK(!sysvipc_lists(shm_key));
	int shm = shmget(shm_key, 8192, IPC_CREAT | IPC_EXCL | 0600);
	CHECK(shm >= 0);
	CHECK(sysvipc_lists(shm_key));
	int msg = msgget(msg_key, IPC_CREAT | IPC_EXCL | 0600);
	CHECK(msg >= 0);
	struct {
		long type;
		char text[8];
	} m = {7, "child"};
	CHECK_OK(msgsnd(msg, &m, sizeof m.text, 0));
	mqd_t q = mq_open(mq_name, O_CREAT | O_EXCL | O_RDWR, 0600, NULL);
	CHECK(q != (mqd_t)-1);
	mq_close(q);
	return 0;
}

int main(void) {
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2];
	CHECK_OK(syscall(SYS_capget, &h, d));
	int admin = (d[0].effective >> CAP_SYS_ADMIN) & 1;
	if (!admin) {
		CHECK_ERR(unshare(CLONE_NEWIPC), EPERM);
		return 0;
	}
	// The whole test runs in a namespace of its own, so that natively
	// the keys cannot meet another program's objects.
	CHECK_OK(unshare(CLONE_NEWIPC));
	shm_key = 0x1c0c0a + getpid() % 1000;
	msg_key = shm_key + 1;
	sem_key = shm_key + 2;
	snprintf(mq_name, sizeof mq_name, "/cocoon-ipcns-%d", (int)getpid());
	int shm = shmget(shm_key, 4096, IPC_CREAT | IPC_EXCL | 0600);
	CHECK(shm >= 0);
	int msg = msgget(msg_key, IPC_CREAT | IPC_EXCL | 0600);
	CHECK(msg >= 0);
	int sem = semget(sem_key, 1, IPC_CREAT | IPC_EXCL | 0600);
	CHECK(sem >= 0);
	mqd_t q = mq_open(mq_name, O_CREAT | O_EXCL | O_RDWR, 0600, NULL);
	CHECK(q != (mqd_t)-1);
	ino_t mine = ns_ino();

	// unshare in a child.
	fflush(NULL);
	pid_t pid = XFORK();
	if (pid == 0) {
		CHECK_OK(unshare(CLONE_NEWIPC));
		_exit(in_new_namespace(&mine));
	}
	WAIT_EXIT(pid, 0);

	// clone with the flag; with CLONE_SYSVSEM it is refused.
	static char stack[64 * 1024];
	CHECK_ERR(clone(in_new_namespace, stack + sizeof stack, CLONE_NEWIPC | CLONE_SYSVSEM | SIGCHLD, &mine), EINVAL);
	fflush(NULL);
	pid = clone(in_new_namespace, stack + sizeof stack, CLONE_NEWIPC | SIGCHLD, &mine);
	CHECK(pid > 0);
	WAIT_EXIT(pid, 0);

	// Ours are untouched, and the children's went with their namespaces.
	CHECK_EQ(ns_ino(), mine);
	CHECK_EQ(shmget(shm_key, 0, 0), shm);
	struct shmid_ds ds;
	CHECK_OK(shmctl(shm, IPC_STAT, &ds));
	CHECK_EQ(ds.shm_segsz, 4096);
	CHECK_EQ(msgget(msg_key, 0), msg);
	struct msqid_ds mds;
	CHECK_OK(msgctl(msg, IPC_STAT, &mds));
	CHECK_EQ(mds.msg_qnum, 0);
	CHECK_EQ(semget(sem_key, 0, 0), sem);
	struct mq_attr a;
	CHECK_OK(mq_getattr(q, &a));
	CHECK_EQ(a.mq_curmsgs, 0);

	// A fork child without the flag shares the namespace.
	fflush(NULL);
	pid = XFORK();
	if (pid == 0) {
		CHECK_EQ(ns_ino(), mine);
		CHECK_EQ(shmget(shm_key, 0, 0), shm);
		_exit(0);
	}
	WAIT_EXIT(pid, 0);

	CHECK_OK(shmctl(shm, IPC_RMID, NULL));
	CHECK_OK(msgctl(msg, IPC_RMID, NULL));
	CHECK_OK(semctl(sem, 0, IPC_RMID));
	mq_close(q);
	CHECK_OK(mq_unlink(mq_name));
	return 0;
}
