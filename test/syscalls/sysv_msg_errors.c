// sysv_msg_errors: msgget's key rules (ENOENT, EEXIST), msgsnd's argument
// errors (EFAULT for the type first, then EINVAL for a bad ID, a type
// below 1 or a size past MSGMAX or negative, EFAULT for the text), msgrcv's
// (EINVAL for a bad ID or negative size), msgctl's (EINVAL for bad IDs and
// commands, EFAULT), permissions (EACCES for msgget/msgsnd/msgrcv/IPC_STAT
// without the mode bits, EPERM for IPC_RMID/IPC_SET by a non-owner and
// for raising msg_qbytes past MSGMNB without CAP_SYS_RESOURCE, MSG_STAT_ANY
// ignoring them), MSG_STAT by index, and MSG_INFO's usage counts in a
// fresh IPC namespace (natively after unshare(CLONE_NEWIPC); the sandbox
// is one per run and refuses it).
//
//go:build ignore

#include "fs_check.h"
#include <sys/ipc.h>
#include <linux/capability.h>
#include <sys/msg.h>

struct mbuf {
	long mtype;
	char mtext[64];
};

static int id_, key_;

// has_sys_resource reports whether CAP_SYS_RESOURCE is effective (root
// may lack it, in a container).
static int has_sys_resource(void) {
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2];
	CHECK_OK(syscall(SYS_capget, &h, d));
	return (d[0].effective >> CAP_SYS_RESOURCE) & 1;
}

static void nobody(void *arg) {
	(void)arg;
	struct msqid_ds ds;
	struct mbuf m = {1, "x"};
	CHECK_EQ(msgget(key_, 0), id_);
	CHECK_ERR(msgget(key_, 0200), EACCES);
	CHECK_ERR(msgsnd(id_, &m, 1, IPC_NOWAIT), EACCES);
	CHECK_ERR(msgrcv(id_, &m, 1, 0, IPC_NOWAIT), EACCES);
	CHECK_ERR(msgctl(id_, IPC_STAT, &ds), EACCES);
	CHECK_ERR(msgctl(id_ & 0x7fff, MSG_STAT, &ds), EACCES);
	CHECK_EQ(msgctl(id_ & 0x7fff, MSG_STAT_ANY, &ds), id_);
	CHECK_EQ(ds.msg_qnum, 1);
	CHECK_ERR(msgctl(id_, IPC_RMID, NULL), EPERM);
	CHECK_ERR(msgctl(id_, IPC_SET, &ds), EPERM);
}

static void nobody_owner(void *arg) {
	(void)arg;
	struct msqid_ds ds;
	CHECK_EQ(msgctl(id_, IPC_STAT, &ds), 0);
	ds.msg_qbytes = 16385;
	CHECK_ERR(msgctl(id_, IPC_SET, &ds), EPERM);
	ds.msg_qbytes = 16384;
	CHECK_OK(msgctl(id_, IPC_SET, &ds));
	CHECK_OK(msgctl(id_, IPC_RMID, NULL));
}

int main(void) {
	int fresh = unshare(CLONE_NEWIPC) == 0 || errno == EINVAL;
	struct msginfo mi;
	struct msqid_ds ds;
	struct mbuf m = {1, "hello"};

	key_ = 0x5f0d0000 | (getpid() & 0xffff);
	CHECK_ERR(msgget(key_, 0600), ENOENT);
	id_ = msgget(key_, IPC_CREAT | 0600);
	CHECK(id_ >= 0);
	CHECK_ERR(msgget(key_, IPC_CREAT | IPC_EXCL | 0600), EEXIST);
	CHECK_EQ(msgget(key_, IPC_CREAT | 0600), id_);
	int other = msgget(IPC_PRIVATE, 0640);
	CHECK(other >= 0 && other != id_);

	// msgsnd arguments.
	CHECK_ERR(msgsnd(-1, NULL, 1, 0), EFAULT); // the type is read first
	CHECK_ERR(msgsnd(-1, &m, 1, 0), EINVAL);
	CHECK_ERR(msgsnd(id_ + 0x8000, &m, 1, 0), EINVAL);
	CHECK_ERR(msgsnd(id_, &m, 8193, 0), EINVAL);
	CHECK_ERR(msgsnd(id_, &m, (size_t)-1, 0), EINVAL);
	m.mtype = 0;
	CHECK_ERR(msgsnd(id_, &m, 1, 0), EINVAL);
	m.mtype = -3;
	CHECK_ERR(msgsnd(id_, &m, 1, 0), EINVAL);
	m.mtype = 1;
	// The text runs off the end of a mapping.
	char *page = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(page != MAP_FAILED);
	CHECK_OK(munmap(page + 4096, 4096));
	struct mbuf *edge = (struct mbuf *)(page + 4096 - 16);
	edge->mtype = 1;
	CHECK_ERR(msgsnd(id_, edge, 100, 0), EFAULT);
	CHECK_OK(msgsnd(id_, edge, 8, 0));
	CHECK_EQ(msgrcv(id_, edge, 100, 0, IPC_NOWAIT), 8); // only the text is copied
	CHECK_OK(msgsnd(id_, &m, 20, 0));
	CHECK_ERR(msgrcv(id_, edge, 100, 0, IPC_NOWAIT), EFAULT); // taken, then lost
	CHECK_ERR(msgrcv(id_, &m, 1, 0, IPC_NOWAIT), ENOMSG);
	CHECK_OK(msgsnd(id_, &m, 5, 0));

	// msgrcv and msgctl arguments.
	CHECK_ERR(msgrcv(-1, &m, 1, 0, IPC_NOWAIT), EINVAL);
	CHECK_ERR(msgrcv(id_, &m, (size_t)-1, 0, IPC_NOWAIT), EINVAL);
	CHECK_ERR(msgrcv(id_ + 0x8000, &m, 1, 0, IPC_NOWAIT), EINVAL);
	CHECK_ERR(msgctl(-1, IPC_STAT, &ds), EINVAL);
	CHECK_ERR(msgctl(id_ + 0x8000, IPC_STAT, &ds), EINVAL);
	CHECK_ERR(msgctl(id_, 12345, &ds), EINVAL);
	CHECK_ERR(msgctl(id_, -1, &ds), EINVAL);
	CHECK_ERR(msgctl(id_, IPC_STAT, (void *)8), EFAULT);
	CHECK_ERR(msgctl(id_, IPC_SET, (void *)8), EFAULT);
	CHECK_ERR(msgctl(0x7ffe, MSG_STAT, &ds), EINVAL);
	CHECK_EQ(msgctl(id_ & 0x7fff, MSG_STAT, &ds), id_);
	CHECK_EQ(ds.msg_perm.__key, key_);
	CHECK_EQ(ds.msg_qnum, 1);
	CHECK_EQ(ds.msg_cbytes, 5);
	ds.msg_perm.uid = -1;
	CHECK_ERR(msgctl(id_, IPC_SET, &ds), EINVAL);

	if (fresh) {
		memset(&mi, 0xa5, sizeof mi);
		CHECK_EQ(msgctl(0, MSG_INFO, (struct msqid_ds *)&mi), 1);
		CHECK_EQ(mi.msgpool, 2); // queues
		CHECK_EQ(mi.msgmap, 1);  // messages
		CHECK_EQ(mi.msgtql, 5);  // bytes
		CHECK_EQ(msgctl(0, IPC_INFO, (struct msqid_ds *)&mi), 1);
		CHECK_EQ(mi.msgpool, 32000 * 16384 / 1024);
		CHECK_EQ(mi.msgtql, 16384);
	}

	if (geteuid() == 0) {
		as_nobody(nobody, NULL);
		// Given away, a queue is the new owner's to change and remove;
		// only CAP_SYS_RESOURCE raises msg_qbytes past MSGMNB.
		CHECK_EQ(msgctl(id_, IPC_STAT, &ds), 0);
		ds.msg_qbytes = 20000;
		if (has_sys_resource()) {
			CHECK_OK(msgctl(id_, IPC_SET, &ds));
			CHECK_EQ(msgctl(id_, IPC_STAT, &ds), 0);
			CHECK_EQ(ds.msg_qbytes, 20000);
		} else {
			CHECK_ERR(msgctl(id_, IPC_SET, &ds), EPERM);
		}
		CHECK_EQ(msgctl(id_, IPC_STAT, &ds), 0);
		ds.msg_perm.uid = NOBODY;
		CHECK_OK(msgctl(id_, IPC_SET, &ds));
		as_nobody(nobody_owner, NULL);
		CHECK_ERR(msgget(key_, 0), ENOENT);
	} else {
		CHECK_OK(msgctl(id_, IPC_RMID, NULL));
	}
	CHECK_OK(msgctl(other, IPC_RMID, NULL));
	CHECK_ERR(msgctl(other, IPC_RMID, NULL), EINVAL);
	if (fresh) {
		memset(&mi, 0xa5, sizeof mi);
		CHECK_EQ(msgctl(0, MSG_INFO, (struct msqid_ds *)&mi), 0);
		CHECK_EQ(mi.msgpool, 0);
		CHECK_EQ(mi.msgmap, 0);
		CHECK_EQ(mi.msgtql, 0);
	}
	return 0;
}
