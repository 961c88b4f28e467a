// sysv_msg: System V message queues. msgget(IPC_PRIVATE) makes an empty
// queue of MSGMNB bytes that IPC_STAT describes; msgrcv picks by type: 0
// the first message, >0 the first of that type (MSG_EXCEPT: of another
// type), <0 the first of the lowest type up to |type|; E2BIG for a short
// buffer unless MSG_NOERROR, which truncates; ENOMSG with IPC_NOWAIT;
// MSG_COPY reads the n-th message without taking it; IPC_STAT counts bytes
// and messages and names the last sender and receiver; a full queue (by
// bytes) fails IPC_NOWAIT senders with EAGAIN and blocks the others until
// a receive makes room; a sleeping receiver gets the next matching message
// (and E2BIG, leaving it queued, if its buffer is too short); IPC_RMID
// fails sleeping receivers and senders with EIDRM; /proc/sysvipc/msg
// lists the queue.
//
//go:build ignore

#include "task_check.h"
#include <sys/ipc.h>
#include <sys/msg.h>
#include <time.h>

#ifndef MSG_COPY
#define MSG_COPY 040000
#endif

struct mbuf {
	long mtype;
	char mtext[256];
};

static int snd(int id, long type, const char *text, int flg) {
	struct mbuf m = {.mtype = type};
	size_t n = strlen(text);
	memcpy(m.mtext, text, n);
	return msgsnd(id, &m, n, flg);
}

// rcv receives into a static buffer and returns its text ("" on error).
static const char *rcv(int id, long type, int flg, long *gottype) {
	static struct mbuf m;
	memset(&m, 0, sizeof m);
	ssize_t n = msgrcv(id, &m, sizeof m.mtext - 1, type, flg);
	if (n < 0)
		return "";
	m.mtext[n] = 0;
	if (gottype)
		*gottype = m.mtype;
	return m.mtext;
}

// wait_sleeping waits until pid sleeps (state S in /proc/PID/stat), then a
// little more so that it is inside the call it announced.
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

static struct msqid_ds stat_of(int id) {
	struct msqid_ds ds;
	memset(&ds, 0xa5, sizeof ds);
	CHECK_EQ(msgctl(id, IPC_STAT, &ds), 0);
	return ds;
}

int main(void) {
	time_t now = time(NULL);
	int id = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
	CHECK(id >= 0);
	struct msqid_ds ds = stat_of(id);
	CHECK_EQ(ds.msg_qnum, 0);
	CHECK_EQ(ds.msg_cbytes, 0);
	CHECK_EQ(ds.msg_qbytes, 16384);
	CHECK_EQ(ds.msg_lspid, 0);
	CHECK_EQ(ds.msg_lrpid, 0);
	CHECK_EQ(ds.msg_stime, 0);
	CHECK_EQ(ds.msg_rtime, 0);
	CHECK(ds.msg_ctime >= now - 5 && ds.msg_ctime <= now + 5);
	CHECK_EQ(ds.msg_perm.mode, 0600);
	CHECK_EQ(ds.msg_perm.uid, geteuid());

	// Typed receive order.
	CHECK_OK(snd(id, 3, "three", 0));
	CHECK_OK(snd(id, 1, "one-a", 0));
	CHECK_OK(snd(id, 2, "two", 0));
	CHECK_OK(snd(id, 1, "one-b", 0));
	CHECK_OK(snd(id, 5, "five", 0));
	CHECK_OK(snd(id, 4, "", 0)); // empty
	ds = stat_of(id);
	CHECK_EQ(ds.msg_qnum, 6);
	CHECK_EQ(ds.msg_cbytes, 5 + 5 + 3 + 5 + 4);
	CHECK_EQ(ds.msg_lspid, getpid());
	CHECK(ds.msg_stime >= now - 5);
	CHECK_EQ(ds.msg_lrpid, 0);

	struct mbuf m;
	// MSG_COPY: by position, the message stays.
	errno = 0;
	ssize_t n = msgrcv(id, &m, sizeof m.mtext, 2, MSG_COPY | IPC_NOWAIT);
	if (n >= 0 || errno != ENOSYS) { // CONFIG_CHECKPOINT_RESTORE
		CHECK_EQ(n, 3);
		CHECK_EQ(m.mtype, 2);
		CHECK_MEM(m.mtext, "two", 3);
		CHECK_ERR(msgrcv(id, &m, sizeof m.mtext, 6, MSG_COPY | IPC_NOWAIT), ENOMSG);
		CHECK_ERR(msgrcv(id, &m, 2, 2, MSG_COPY | IPC_NOWAIT), E2BIG);
		CHECK_ERR(msgrcv(id, &m, sizeof m.mtext, 0, MSG_COPY), EINVAL);
		CHECK_ERR(msgrcv(id, &m, sizeof m.mtext, 0, MSG_COPY | MSG_EXCEPT | IPC_NOWAIT), EINVAL);
		CHECK_EQ(stat_of(id).msg_qnum, 6);
	}

	long t = 0;
	CHECK(strcmp(rcv(id, 0, 0, &t), "three") == 0 && t == 3);
	CHECK(strcmp(rcv(id, 1, MSG_EXCEPT, &t), "two") == 0 && t == 2);
	CHECK(strcmp(rcv(id, -4, 0, &t), "one-a") == 0 && t == 1);
	CHECK(strcmp(rcv(id, 1, 0, &t), "one-b") == 0 && t == 1);
	CHECK_ERR(msgrcv(id, &m, sizeof m.mtext, 1, IPC_NOWAIT), ENOMSG);
	CHECK_ERR(msgrcv(id, &m, sizeof m.mtext, -3, IPC_NOWAIT), ENOMSG);
	CHECK(strcmp(rcv(id, -9, 0, &t), "") == 0 && t == 4); // lowest of 4, 5
	// A short buffer: E2BIG, the message stays; MSG_NOERROR truncates.
	CHECK_ERR(msgrcv(id, &m, 3, 5, 0), E2BIG);
	CHECK_EQ(stat_of(id).msg_qnum, 1);
	memset(&m, 0, sizeof m);
	CHECK_EQ(msgrcv(id, &m, 3, 0, MSG_NOERROR), 3);
	CHECK_EQ(m.mtype, 5);
	CHECK_MEM(m.mtext, "fiv\0", 4);
	ds = stat_of(id);
	CHECK_EQ(ds.msg_qnum, 0);
	CHECK_EQ(ds.msg_cbytes, 0);
	CHECK_EQ(ds.msg_lrpid, getpid());
	CHECK(ds.msg_rtime >= now - 5);

	// A full queue.
	ds.msg_qbytes = 100;
	CHECK_OK(msgctl(id, IPC_SET, &ds));
	CHECK_EQ(stat_of(id).msg_qbytes, 100);
	char big[61];
	memset(big, 'b', 60);
	big[60] = 0;
	CHECK_OK(snd(id, 1, big, IPC_NOWAIT));
	CHECK_ERR(snd(id, 2, big, IPC_NOWAIT), EAGAIN);
	CHECK_OK(snd(id, 3, "0123456789012345678901234567890123456789", IPC_NOWAIT)); // exactly 100
	CHECK_ERR(snd(id, 3, "x", IPC_NOWAIT), EAGAIN);
	pid_t c = XFORK();
	if (c == 0) {
		CHECK_OK(snd(id, 2, big, 0)); // blocks until there is room
		_exit(0);
	}
	wait_sleeping(c);
	CHECK_EQ(stat_of(id).msg_qnum, 2);
	CHECK_EQ(strlen(rcv(id, 1, 0, NULL)), 60);
	WAIT_EXIT(c, 0);
	ds = stat_of(id);
	CHECK_EQ(ds.msg_qnum, 2);
	CHECK_EQ(ds.msg_cbytes, 100);
	CHECK_EQ(ds.msg_lspid, c);
	CHECK_EQ(strlen(rcv(id, 3, 0, NULL)), 40);
	CHECK_EQ(strlen(rcv(id, 2, 0, NULL)), 60);

	// A sleeping receiver gets a matching message directly; a too-short
	// buffer gets E2BIG and the message is queued.
	c = XFORK();
	if (c == 0) {
		struct mbuf r;
		CHECK_EQ(msgrcv(id, &r, 4, 7, 0), 4);
		CHECK_MEM(r.mtext, "seve", 4); // exactly fits
		CHECK_ERR(msgrcv(id, &r, 2, 8, 0), E2BIG);
		_exit(0);
	}
	wait_sleeping(c);
	CHECK_OK(snd(id, 6, "six", 0));    // not for it
	CHECK_OK(snd(id, 7, "seve", 0));   // 4 bytes: taken
	msleep(50);
	CHECK_OK(snd(id, 8, "eight", 0)); // too long for it
	WAIT_EXIT(c, 0);
	ds = stat_of(id);
	CHECK_EQ(ds.msg_qnum, 2);
	CHECK_EQ(ds.msg_lrpid, c);
	CHECK(strcmp(rcv(id, 0, 0, &t), "six") == 0 && t == 6);
	CHECK(strcmp(rcv(id, 0, 0, &t), "eight") == 0 && t == 8);

	// /proc/sysvipc/msg lists the queue.
	CHECK_OK(snd(id, 1, "abc", 0));
	static char text[1 << 16];
	CHECK(read_text("/proc/sysvipc/msg", text, sizeof text) > 0);
	static const char hdr[] = "       key      msqid perms      cbytes       qnum lspid lrpid   uid   gid  cuid  cgid      stime      rtime      ctime\n";
	CHECK(strncmp(text, hdr, strlen(hdr)) == 0);
	char line[256];
	snprintf(line, sizeof line, "\n         0 %10d   600           3          1 %5d %5d %5u %5u %5u %5u ",
		 id, getpid(), getpid(), geteuid(), getegid(), geteuid(), getegid());
	CHECK(strstr(text, line) != NULL);

	// Removal fails sleepers with EIDRM.
	ds = stat_of(id);
	ds.msg_qbytes = 3;
	CHECK_OK(msgctl(id, IPC_SET, &ds));
	pid_t r = XFORK();
	if (r == 0) {
		CHECK_EQ(msgrcv(id, &m, sizeof m.mtext, 99, 0), -1);
		CHECK_EQ(errno, EIDRM);
		_exit(0);
	}
	pid_t s = XFORK();
	if (s == 0) {
		CHECK_ERR(snd(id, 1, "x", 0), EIDRM);
		_exit(0);
	}
	wait_sleeping(r);
	wait_sleeping(s);
	CHECK_OK(msgctl(id, IPC_RMID, NULL));
	WAIT_EXIT(r, 0);
	WAIT_EXIT(s, 0);
	CHECK_ERR(msgctl(id, IPC_STAT, &ds), EINVAL);
	CHECK(read_text("/proc/sysvipc/msg", text, sizeof text) > 0);
	CHECK(strstr(text, line) == NULL);
	return 0;
}
