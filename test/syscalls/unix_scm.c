// unix_scm: ancillary data on unix sockets: SCM_RIGHTS passes open file
// descriptions (a pipe's end and a regular file, sharing the offset) to
// new descriptors (MSG_CMSG_CLOEXEC sets close-on-exec); descriptors that
// do not fit the control buffer are closed and MSG_CTRUNC is set;
// SCM_CREDENTIALS arrives with SO_PASSCRED (the sender's pid/uid/gid, or
// what it claims within its rights: another pid is EPERM); SO_PEERCRED is
// the peer's credentials at connect time, pid as the caller sees it.
//
//go:build ignore

#include "fs_check.h"
#include <sys/socket.h>
#include <sys/un.h>

static void send_fds(int s, const int *fds, int n) {
	char cbuf[CMSG_SPACE(sizeof(int) * 4)] = {0};
	struct iovec iov = {"F", 1};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			   .msg_controllen = CMSG_SPACE(sizeof(int) * n)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int) * n);
	memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
	CHECK_EQ(sendmsg(s, &m, 0), 1);
}

int main(void) {
	scratch_cd();
	int sv[2];
	CHECK_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	int p[2];
	CHECK_OK(pipe(p));
	int f = open("file", O_RDWR | O_CREAT, 0644);
	CHECK(f >= 0);
	CHECK_EQ(write(f, "0123456789", 10), 10);
	CHECK_OK(lseek(f, 2, SEEK_SET));
	int fds[2] = {p[1], f};
	send_fds(sv[0], fds, 2);

	char data[4];
	char cbuf[CMSG_SPACE(sizeof(int) * 4)];
	struct iovec iov = {data, sizeof data};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
	CHECK_EQ(recvmsg(sv[1], &m, MSG_CMSG_CLOEXEC), 1);
	// Linux echoes MSG_CMSG_CLOEXEC in msg_flags.
	CHECK_EQ(m.msg_flags, MSG_CMSG_CLOEXEC);
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	CHECK(c != NULL);
	CHECK_EQ(c->cmsg_level, SOL_SOCKET);
	CHECK_EQ(c->cmsg_type, SCM_RIGHTS);
	CHECK_EQ(c->cmsg_len, CMSG_LEN(sizeof(int) * 2));
	int got[2];
	memcpy(got, CMSG_DATA(c), sizeof got);
	CHECK(got[0] != p[1] && got[1] != f);
	CHECK_EQ(fcntl(got[0], F_GETFD), FD_CLOEXEC);
	// The passed pipe end writes into our pipe.
	CHECK_EQ(write(got[0], "via", 3), 3);
	char buf[16];
	CHECK_EQ(read(p[0], buf, sizeof buf), 3);
	CHECK_MEM(buf, "via", 3);
	// The passed file shares the description: same offset.
	CHECK_EQ(lseek(got[1], 0, SEEK_CUR), 2);
	CHECK_EQ(read(got[1], buf, 3), 3);
	CHECK_EQ(lseek(f, 0, SEEK_CUR), 5);
	close(got[0]);
	close(got[1]);

	// Room for one descriptor out of two: MSG_CTRUNC, the other closed.
	send_fds(sv[0], fds, 2);
	char small[CMSG_SPACE(sizeof(int))];
	m.msg_control = small;
	// CMSG_SPACE would have room for two (alignment padding).
	m.msg_controllen = CMSG_LEN(sizeof(int));
	m.msg_flags = 0;
	CHECK_EQ(recvmsg(sv[1], &m, 0), 1);
	CHECK(m.msg_flags & MSG_CTRUNC);
	c = CMSG_FIRSTHDR(&m);
	CHECK(c != NULL);
	CHECK_EQ(c->cmsg_len, CMSG_LEN(sizeof(int)));
	memcpy(got, CMSG_DATA(c), sizeof(int));
	CHECK_EQ(fcntl(got[0], F_GETFD), 0);
	close(got[0]);
	// read(2) drops passed descriptors; the pipe then has no writer.
	send_fds(sv[0], fds, 1);
	CHECK_EQ(read(sv[1], buf, sizeof buf), 1);
	close(p[1]);
	CHECK_EQ(read(p[0], buf, sizeof buf), 0);
	// A bad descriptor is EBADF.
	int bad = 999;
	m.msg_control = cbuf;
	c = CMSG_FIRSTHDR(&m);
	(void)c;
	{
		char cb[CMSG_SPACE(sizeof(int))] = {0};
		struct iovec io = {"F", 1};
		struct msghdr mm = {.msg_iov = &io, .msg_iovlen = 1, .msg_control = cb, .msg_controllen = sizeof cb};
		struct cmsghdr *h = CMSG_FIRSTHDR(&mm);
		h->cmsg_level = SOL_SOCKET;
		h->cmsg_type = SCM_RIGHTS;
		h->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(h), &bad, sizeof bad);
		CHECK_ERR(sendmsg(sv[0], &mm, 0), EBADF);
	}

	// SO_PEERCRED of a socketpair: ourselves.
	struct ucred uc;
	socklen_t ul = sizeof uc;
	CHECK_OK(getsockopt(sv[0], SOL_SOCKET, SO_PEERCRED, &uc, &ul));
	CHECK_EQ(ul, sizeof uc);
	CHECK_EQ(uc.pid, getpid());
	CHECK_EQ(uc.uid, geteuid());
	CHECK_EQ(uc.gid, getegid());

	// SCM_CREDENTIALS with SO_PASSCRED, from a forked child.
	int on = 1;
	CHECK_OK(setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &on, sizeof on));
	pid_t pid = XFORK();
	if (pid == 0) {
		_exit(write(sv[0], "c", 1) == 1 ? 0 : 1);
	}
	WAIT_EXIT(pid, 0);
	char ccb[CMSG_SPACE(sizeof(struct ucred))];
	m.msg_control = ccb;
	m.msg_controllen = sizeof ccb;
	m.msg_flags = 0;
	CHECK_EQ(recvmsg(sv[1], &m, 0), 1);
	c = CMSG_FIRSTHDR(&m);
	CHECK(c != NULL);
	CHECK_EQ(c->cmsg_type, SCM_CREDENTIALS);
	memcpy(&uc, CMSG_DATA(c), sizeof uc);
	CHECK_EQ(uc.pid, pid);
	CHECK_EQ(uc.uid, getuid());
	CHECK_EQ(uc.gid, getgid());

	// Claiming another process's pid needs CAP_SYS_ADMIN: as nobody, EPERM.
	if (geteuid() == 0) {
		pid = XFORK();
		if (pid == 0) {
			drop_to_nobody();
			char cb[CMSG_SPACE(sizeof(struct ucred))] = {0};
			struct iovec io = {"F", 1};
			struct msghdr mm = {.msg_iov = &io, .msg_iovlen = 1, .msg_control = cb, .msg_controllen = sizeof cb};
			struct cmsghdr *h = CMSG_FIRSTHDR(&mm);
			h->cmsg_level = SOL_SOCKET;
			h->cmsg_type = SCM_CREDENTIALS;
			h->cmsg_len = CMSG_LEN(sizeof(struct ucred));
			struct ucred claim = {getppid(), NOBODY, NOBODY};
			memcpy(CMSG_DATA(h), &claim, sizeof claim);
			CHECK_ERR(sendmsg(sv[0], &mm, 0), EPERM);
			claim.pid = getpid();
			memcpy(CMSG_DATA(h), &claim, sizeof claim);
			CHECK_EQ(sendmsg(sv[0], &mm, 0), 1);
			_exit(0);
		}
		WAIT_EXIT(pid, 0);
		m.msg_control = ccb;
		m.msg_controllen = sizeof ccb;
		CHECK_EQ(recvmsg(sv[1], &m, 0), 1);
		c = CMSG_FIRSTHDR(&m);
		memcpy(&uc, CMSG_DATA(c), sizeof uc);
		CHECK_EQ(uc.pid, pid);
		CHECK_EQ(uc.uid, NOBODY);
	}

	// SO_PEERCRED of a connection: the connector's and listener's.
	int l = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un a = {.sun_family = AF_UNIX, .sun_path = "l"};
	CHECK_OK(bind(l, (struct sockaddr *)&a, sizeof a));
	CHECK_OK(listen(l, 4));
	int ready[2];
	CHECK_OK(pipe(ready));
	pid = XFORK();
	if (pid == 0) {
		int cc = socket(AF_UNIX, SOCK_STREAM, 0);
		if (connect(cc, (struct sockaddr *)&a, sizeof a))
			_exit(1);
		struct ucred u;
		socklen_t len = sizeof u;
		if (getsockopt(cc, SOL_SOCKET, SO_PEERCRED, &u, &len) || u.pid != getppid())
			_exit(2);
		sync_post(ready[1], 'x');
		char b;
		(void)read(cc, &b, 1); // wait until the parent is done
		_exit(0);
	}
	sync_wait(ready[0]);
	int s = accept(l, NULL, NULL);
	CHECK(s >= 0);
	ul = sizeof uc;
	CHECK_OK(getsockopt(s, SOL_SOCKET, SO_PEERCRED, &uc, &ul));
	CHECK_EQ(uc.pid, pid);
	close(s);
	WAIT_EXIT(pid, 0);
	return 0;
}
