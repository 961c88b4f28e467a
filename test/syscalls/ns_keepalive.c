// ns_keepalive: an open /proc/<pid>/ns file keeps its namespace alive
// after every process in it has exited (Linux's nsfs inode holds a
// reference). A process unshares UTS, IPC and network namespaces, sets
// a hostname, creates System V objects and brings lo up, and exits; the
// parent kept the namespace files open, and a child that joins them with
// setns still finds the hostname, the objects (shm, semaphore set,
// message queue with its message) and lo up, with a working loopback.
// A second child joins them again after the first left, so the state does
// not hang on the first joiner either. A PID namespace whose init exited
// can still be joined as the namespace of later children, but fork then
// fails with ENOMEM, as nothing can be added to a dead namespace.
//
//go:build ignore

#include "inet_check.h"
#include "ns_check.h"
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/utsname.h>

static key_t key;

struct msg {
	long type;
	char text[8];
};

// populate runs in the namespaces' only process: something of each kind
// to find later.
static int populate(int release_fd) {
	(void)release_fd;
	CHECK_OK(sethostname("cocoon-kept", 11));
	CHECK(shmget(key, 4096, IPC_CREAT | IPC_EXCL | 0600) >= 0);
	int sem = semget(key, 2, IPC_CREAT | IPC_EXCL | 0600);
	CHECK(sem >= 0);
	CHECK_OK(semctl(sem, 1, SETVAL, 7));
	int q = msgget(key, IPC_CREAT | IPC_EXCL | 0600);
	CHECK(q >= 0);
	struct msg m = {.type = 3, .text = "kept"};
	CHECK_OK(msgsnd(q, &m, sizeof m.text, 0));
	lo_up();
	return 0;
}

// check_state runs in a process that joined the kept namespaces.
static void check_state(int consume) {
	struct utsname u;
	CHECK_OK(uname(&u));
	CHECK(strcmp(u.nodename, "cocoon-kept") == 0);
	CHECK(shmget(key, 0, 0) >= 0);
	int sem = semget(key, 0, 0);
	CHECK(sem >= 0);
	CHECK_EQ(semctl(sem, 1, GETVAL), 7);
	int q = msgget(key, 0);
	CHECK(q >= 0);
	struct msqid_ds ds;
	CHECK_OK(msgctl(q, IPC_STAT, &ds));
	CHECK_EQ((long)ds.msg_qnum, 1);
	if (consume) {
		struct msg m;
		CHECK_EQ(msgrcv(q, &m, sizeof m.text, 3, IPC_NOWAIT), (ssize_t)sizeof m.text);
		CHECK(strcmp(m.text, "kept") == 0);
		m.type = 3;
		CHECK_OK(msgsnd(q, &m, sizeof m.text, 0));
	}

	CHECK(lo_flags() & IFF_UP);
	int c, a;
	tcp_pair(AF_INET, &c, &a);
	CHECK_EQ(write(c, "x", 1), 1);
	char b;
	CHECK_EQ(read(a, &b, 1), 1);
	close(c);
	close(a);
}

static void join_and_check(int uts, int ipc, int net, int consume) {
	fflush(NULL);
	pid_t pid = XFORK();
	if (pid == 0) {
		alarm(10);
		CHECK_OK(setns(uts, CLONE_NEWUTS));
		CHECK_OK(setns(ipc, CLONE_NEWIPC));
		CHECK_OK(setns(net, CLONE_NEWNET));
		CHECK_EQ(self_ino("uts"), fd_ino(uts));
		CHECK_EQ(self_ino("ipc"), fd_ino(ipc));
		CHECK_EQ(self_ino("net"), fd_ino(net));
		check_state(consume);
		_exit(0);
	}
	WAIT_EXIT(pid, 0);
}

static void kept_pid_namespace(void) {
	pid_t init;
	struct ns_holder unsharer = ns_hold(CLONE_NEWPID, start_pid_init, &init);
	int pidns = ns_open(init, "pid");
	// The init has exited once the holder is reaped.
	ns_release(unsharer);

	fflush(NULL);
	pid_t pid = XFORK();
	if (pid == 0) {
		alarm(10);
		CHECK_OK(setns(pidns, CLONE_NEWPID));
		CHECK_EQ(self_ino("pid_for_children"), fd_ino(pidns));
		fflush(NULL);
		pid_t child = fork();
		if (child == 0)
			_exit(0);
		if (child > 0)
			FAIL("fork into a dead PID namespace succeeded");
		CHECK_EQ(errno, ENOMEM);
		_exit(0);
	}
	WAIT_EXIT(pid, 0);
	close(pidns);
}

int main(void) {
	if (!has_cap(CAP_SYS_ADMIN))
		return 0; // every part needs it
	key = 0x6b6500 + getpid() % 1000;

	struct ns_holder other = ns_hold(CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET, populate, NULL);
	int uts = ns_open(other.pid, "uts"), ipc = ns_open(other.pid, "ipc"), net = ns_open(other.pid, "net");
	// Only the files hold the namespaces from here on.
	ns_release(other);

	join_and_check(uts, ipc, net, 1);
	join_and_check(uts, ipc, net, 0);

	// The namespace files still name the namespaces joined above; a dup
	// of one keeps it as well.
	int net2 = dup(net);
	CHECK(net2 >= 0);
	CHECK_OK(close(net));
	join_and_check(uts, ipc, net2, 0);
	close(uts);
	close(ipc);
	close(net2);

	kept_pid_namespace();
	return 0;
}
