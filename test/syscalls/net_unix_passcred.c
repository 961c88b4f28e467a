// net_unix_passcred: a unix socket receiver with SO_PASSCRED gets an
// SCM_CREDENTIALS control message on every message, with the sender's
// pid, uid and gid, although the sender sent none, on datagram, stream
// and seqpacket sockets; the pid is as the receiver's PID namespace sees
// the sender (0 when it cannot see it). A sender's SO_PASSCRED alone gives
// its receiver nothing. A stream reader with SO_PASSCRED never gets the
// bytes of two senders with different credentials in one read. Parts
// that change uid run only as root.
//
//go:build ignore

#define _GNU_SOURCE
#include "task_check.h"
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>

static void passcred(int s) {
	int one = 1;
	CHECK_OK(setsockopt(s, SOL_SOCKET, SO_PASSCRED, &one, sizeof one));
}

// recv_cred reads up to len bytes into buf and the message's
// credentials into uc; it returns the bytes read, and has_cred says
// whether SCM_CREDENTIALS came.
static ssize_t recv_cred(int s, char *buf, size_t len, struct ucred *uc, int *has_cred) {
	char cbuf[CMSG_SPACE(sizeof(struct ucred)) + 64];
	struct iovec iov = {buf, len};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
	ssize_t n = recvmsg(s, &m, MSG_DONTWAIT);
	CHECK(n >= 0);
	CHECK_EQ(m.msg_flags & MSG_CTRUNC, 0);
	*has_cred = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
		CHECK_EQ(c->cmsg_level, SOL_SOCKET);
		CHECK_EQ(c->cmsg_type, SCM_CREDENTIALS);
		CHECK_EQ(c->cmsg_len, CMSG_LEN(sizeof(struct ucred)));
		memcpy(uc, CMSG_DATA(c), sizeof *uc);
		(*has_cred)++;
	}
	return n;
}

// send_from sends msg on s from a child that first takes uid/gid (-1:
// keep them); it returns the child's pid.
static pid_t send_from(int s, const char *msg, int uid) {
	pid_t p = XFORK();
	if (p == 0) {
		if (uid >= 0 && (setresgid(uid, uid, uid) != 0 || setresuid(uid, uid, uid) != 0))
			_exit(2);
		_exit(send(s, msg, strlen(msg), 0) == (ssize_t)strlen(msg) ? 0 : 1);
	}
	WAIT_EXIT(p, 0);
	return p;
}

static void basic(int type) {
	int sv[2];
	CHECK_OK(socketpair(AF_UNIX, type, 0, sv));
	char buf[16];
	struct ucred uc;
	int has;
	// Without SO_PASSCRED on the receiver: nothing, even if the sender
	// has it.
	passcred(sv[0]);
	CHECK_EQ(send(sv[0], "a", 1, 0), 1);
	CHECK_EQ(recv_cred(sv[1], buf, sizeof buf, &uc, &has), 1);
	CHECK_EQ(has, 0);
	passcred(sv[1]);
	pid_t child = send_from(sv[0], "bc", -1);
	CHECK_EQ(recv_cred(sv[1], buf, sizeof buf, &uc, &has), 2);
	CHECK_EQ(has, 1);
	CHECK_EQ(uc.pid, child);
	CHECK_EQ(uc.uid, getuid());
	CHECK_EQ(uc.gid, getgid());
	CHECK_EQ(send(sv[0], "d", 1, 0), 1);
	CHECK_EQ(recv_cred(sv[1], buf, sizeof buf, &uc, &has), 1);
	CHECK_EQ(has, 1);
	CHECK_EQ(uc.pid, getpid());
	if (getuid() == 0) {
		// Another sender's credentials, and (on a stream) a read stops
		// where the sender changes.
		CHECK_EQ(send(sv[0], "ef", 2, 0), 2);
		pid_t other = send_from(sv[0], "gh", 1234);
		CHECK_EQ(recv_cred(sv[1], buf, sizeof buf, &uc, &has), 2);
		CHECK_EQ(memcmp(buf, "ef", 2), 0);
		CHECK_EQ(uc.pid, getpid());
		CHECK_EQ(uc.uid, 0);
		CHECK_EQ(recv_cred(sv[1], buf, sizeof buf, &uc, &has), 2);
		CHECK_EQ(memcmp(buf, "gh", 2), 0);
		CHECK_EQ(has, 1);
		CHECK_EQ(uc.pid, other);
		CHECK_EQ(uc.uid, 1234);
		CHECK_EQ(uc.gid, 1234);
	}
	close(sv[0]);
	close(sv[1]);
}

static int pidns_sv[2];

// in_pidns runs as pid 1 of a new PID namespace: the parent's message
// comes from a pid it cannot see (0); its own goes out as pid 1.
static int in_pidns(void *arg) {
	(void)arg;
	if (getpid() != 1)
		return 3;
	char buf[8];
	struct ucred uc;
	int has;
	struct pollfd p = {.fd = pidns_sv[1], .events = POLLIN};
	if (poll(&p, 1, 5000) != 1)
		return 4;
	if (recv_cred(pidns_sv[1], buf, sizeof buf, &uc, &has) != 1 || has != 1)
		return 5;
	if (uc.pid != 0)
		return 6;
	if (send(pidns_sv[1], "y", 1, 0) != 1)
		return 7;
	return 0;
}

static void pid_namespace(void) {
	CHECK_OK(socketpair(AF_UNIX, SOCK_DGRAM, 0, pidns_sv));
	passcred(pidns_sv[0]);
	passcred(pidns_sv[1]);
	static char stack[64 << 10];
	pid_t child = clone(in_pidns, stack + sizeof stack, CLONE_NEWPID | SIGCHLD, NULL);
	CHECK(child > 0);
	CHECK_EQ(send(pidns_sv[0], "x", 1, 0), 1);
	WAIT_EXIT(child, 0);
	char buf[8];
	struct ucred uc;
	int has;
	CHECK_EQ(recv_cred(pidns_sv[0], buf, sizeof buf, &uc, &has), 1);
	CHECK_EQ(has, 1);
	CHECK_EQ(uc.pid, child);
	close(pidns_sv[0]);
	close(pidns_sv[1]);
}

int main(void) {
	basic(SOCK_DGRAM);
	basic(SOCK_STREAM);
	basic(SOCK_SEQPACKET);
	if (getuid() == 0)
		pid_namespace();
	return 0;
}
