// sysv_ipc_signals: signals and System V IPC sleeps, as Linux restarts
// them. semop and semtimedop fail with EINTR when a handler runs, even
// with SA_RESTART, and also after a stop and continue (they are never
// restarted); msgrcv and msgsnd fail with EINTR when a handler runs (even
// with SA_RESTART), but are restarted after a stop and continue, which no
// handler sees (ERESTARTNOHAND).
//
//go:build ignore

#include "task_check.h"
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>

struct mbuf {
	long mtype;
	char mtext[64];
};

static int sem, q;

static void on_usr1(int sig, siginfo_t *si, void *uc) { (void)sig, (void)si, (void)uc; }

static void wait_ncnt(int want) {
	for (int i = 0; i < 5000 && semctl(sem, 0, GETNCNT) != want; i++)
		usleep(1000);
	CHECK_EQ(semctl(sem, 0, GETNCNT), want);
}

// wait_sleeping waits until pid sleeps (state S in /proc/PID/stat), then a
// little more so that it is inside the call it is about to make.
static void wait_sleeping(pid_t pid) {
	char path[64], text[1024];
	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	for (int i = 0; i < 2000; i++) {
		CHECK(read_text(path, text, sizeof text) > 0);
		char *p = strrchr(text, ')');
		if (p && p[2] == 'S')
			break;
		usleep(1000);
	}
	msleep(50);
}

static void stop_and_continue(pid_t c) {
	CHECK_OK(kill(c, SIGSTOP));
	int ws = WAITPID(c, WUNTRACED);
	CHECK(WIFSTOPPED(ws));
	CHECK_OK(kill(c, SIGCONT));
}

int main(void) {
	sem = semget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
	q = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
	CHECK(sem >= 0 && q >= 0);
	install(SIGUSR1, on_usr1, SA_RESTART);
	struct sembuf dec = {0, -1, 0};
	struct mbuf m = {1, "x"};

	// semop: EINTR after a handler, SA_RESTART or not.
	int up[2];
	CHECK_OK(pipe(up));
	char ch;
	pid_t c = XFORK();
	if (c == 0) {
		CHECK_ERR(semop(sem, &dec, 1), EINTR);
		CHECK_EQ(write(up[1], "i", 1), 1);
		struct timespec ts = {10, 0};
		CHECK_ERR(semtimedop(sem, &dec, 1, &ts), EINTR);
		_exit(0);
	}
	wait_ncnt(1);
	CHECK_OK(kill(c, SIGUSR1));
	CHECK_EQ(read(up[0], &ch, 1), 1);
	wait_ncnt(1);
	CHECK_OK(kill(c, SIGUSR1));
	WAIT_EXIT(c, 0);

	// semop: EINTR after a stop, too.
	c = XFORK();
	if (c == 0) {
		CHECK_ERR(semop(sem, &dec, 1), EINTR);
		_exit(0);
	}
	wait_ncnt(1);
	stop_and_continue(c);
	WAIT_EXIT(c, 0);
	CHECK_EQ(semctl(sem, 0, GETVAL), 0);

	// msgrcv: EINTR after a handler.
	c = XFORK();
	if (c == 0) {
		struct mbuf r;
		CHECK_ERR(msgrcv(q, &r, sizeof r.mtext, 0, 0), EINTR);
		_exit(0);
	}
	wait_sleeping(c);
	CHECK_OK(kill(c, SIGUSR1));
	WAIT_EXIT(c, 0);

	// msgrcv: restarted after a stop.
	c = XFORK();
	if (c == 0) {
		struct mbuf r;
		CHECK_EQ(msgrcv(q, &r, sizeof r.mtext, 0, 0), 1);
		_exit(0);
	}
	wait_sleeping(c);
	stop_and_continue(c);
	msleep(50);
	CHECK_OK(msgsnd(q, &m, 1, 0));
	WAIT_EXIT(c, 0);

	// msgsnd on a full queue: EINTR after a handler, restarted after a
	// stop.
	struct msqid_ds ds;
	CHECK_OK(msgctl(q, IPC_STAT, &ds));
	ds.msg_qbytes = 1;
	CHECK_OK(msgctl(q, IPC_SET, &ds));
	CHECK_OK(msgsnd(q, &m, 1, 0));
	c = XFORK();
	if (c == 0) {
		CHECK_ERR(msgsnd(q, &m, 1, 0), EINTR);
		CHECK_OK(msgsnd(q, &m, 1, 0));
		_exit(0);
	}
	wait_sleeping(c);
	CHECK_OK(kill(c, SIGUSR1));
	wait_sleeping(c);
	stop_and_continue(c);
	msleep(50);
	CHECK_OK(msgctl(q, IPC_STAT, &ds));
	CHECK_EQ(ds.msg_qnum, 1);
	struct mbuf r;
	CHECK_EQ(msgrcv(q, &r, sizeof r.mtext, 0, 0), 1);
	WAIT_EXIT(c, 0);
	CHECK_OK(msgctl(q, IPC_STAT, &ds));
	CHECK_EQ(ds.msg_qnum, 1);

	CHECK_OK(semctl(sem, 0, IPC_RMID));
	CHECK_OK(msgctl(q, IPC_RMID, NULL));
	return 0;
}
