// ns_bind_keepalive: a bind mount of a namespace file keeps the namespace
// alive, as `ip netns add` relies on (the nsfs mount holds the nsfs
// dentry, which holds the namespace). A process unshares network and IPC
// namespaces, brings lo up and creates a message queue; its /proc/<pid>/ns
// files are bind-mounted on scratch files and it exits. With no process
// and no open descriptor left in them, a child that opens the mount
// targets and setns()es into them finds lo up and the queue. A copy of the
// mount namespace (unshare(CLONE_NEWNS)) copies the bind mounts, and the
// copies hold the namespaces on their own after the originals are
// unmounted. The bound file is an nsfs file (st_dev of /proc/self/ns/*),
// and unmounting it uncovers the scratch file. Binding the caller's own
// mount namespace file is EINVAL (Linux's mnt_ns_loop).
//
//go:build ignore

#include "inet_check.h"
#include "mntns_check.h"
#include "ns_check.h"
#include <sys/msg.h>

static key_t key;
static char net_path[4096], ipc_path[4096], mnt_path[4096];

struct msg {
	long type;
	char text[8];
};

// populate runs in the namespaces' only process.
static int populate(int release_fd) {
	(void)release_fd;
	int q = msgget(key, IPC_CREAT | IPC_EXCL | 0600);
	CHECK(q >= 0);
	struct msg m = {.type = 5, .text = "bound"};
	CHECK_OK(msgsnd(q, &m, sizeof m.text, 0));
	lo_up();
	return 0;
}

static void bind_file(pid_t pid, const char *kind, const char *target) {
	char src[64];
	snprintf(src, sizeof src, "/proc/%d/ns/%s", (int)pid, kind);
	CHECK_OK(mount(src, target, NULL, MS_BIND, NULL));
	struct stat a, b;
	CHECK_OK(stat(src, &a));
	CHECK_OK(stat(target, &b));
	CHECK_EQ(b.st_ino, a.st_ino);
	CHECK_EQ(b.st_dev, a.st_dev);
}

// join_and_check joins the namespaces through the bound files, in a child.
static void join_and_check(void) {
	fflush(NULL);
	pid_t pid = XFORK();
	if (pid == 0) {
		alarm(10);
		int net = open(net_path, O_RDONLY | O_CLOEXEC);
		CHECK(net >= 0);
		int ipc = open(ipc_path, O_RDONLY | O_CLOEXEC);
		CHECK(ipc >= 0);
		CHECK_OK(setns(net, CLONE_NEWNET));
		CHECK_OK(setns(ipc, CLONE_NEWIPC));
		int q = msgget(key, 0);
		CHECK(q >= 0);
		struct msqid_ds ds;
		CHECK_OK(msgctl(q, IPC_STAT, &ds));
		CHECK_EQ((long)ds.msg_qnum, 1);
		CHECK(lo_flags() & IFF_UP);
		int c, a;
		tcp_pair(AF_INET, &c, &a);
		CHECK_EQ(write(c, "y", 1), 1);
		char b;
		CHECK_EQ(read(a, &b, 1), 1);
		_exit(0);
	}
	WAIT_EXIT(pid, 0);
}

static void run(void *arg) {
	(void)arg;
	struct stat nsst;
	CHECK_OK(stat("/proc/self/ns/net", &nsst));

	// The caller's own mount namespace cannot be bound in itself.
	CHECK_ERR(mount("/proc/self/ns/mnt", mnt_path, NULL, MS_BIND, NULL), EINVAL);

	struct ns_holder other = ns_hold(CLONE_NEWIPC | CLONE_NEWNET, populate, NULL);
	bind_file(other.pid, "net", net_path);
	bind_file(other.pid, "ipc", ipc_path);
	struct stat st;
	CHECK_OK(stat(net_path, &st));
	CHECK_EQ(st.st_dev, nsst.st_dev);
	CHECK(st.st_ino != nsst.st_ino);
	ns_release(other);

	// Only the bind mounts hold the namespaces from here on.
	join_and_check();
	join_and_check();

	// A copy of this mount namespace holds them on its own.
	char c;
	int copied[2], unmounted[2];
	CHECK_OK(pipe(copied));
	CHECK_OK(pipe(unmounted));
	fflush(NULL);
	pid_t keeper = XFORK();
	if (keeper == 0) {
		alarm(10);
		CHECK_OK(unshare(CLONE_NEWNS));
		CHECK_EQ(write(copied[1], "1", 1), 1);
		close(unmounted[1]);
		CHECK_EQ(read(unmounted[0], &c, 1), 0);
		join_and_check();
		CHECK_OK(umount(net_path));
		CHECK_OK(umount(ipc_path));
		_exit(0);
	}
	close(copied[1]);
	close(unmounted[0]);
	CHECK_EQ(read(copied[0], &c, 1), 1);
	CHECK_OK(umount(net_path));
	CHECK_OK(umount(ipc_path));
	CHECK_OK(stat(net_path, &st));
	CHECK(st.st_dev != nsst.st_dev);
	CHECK(S_ISREG(st.st_mode));
	CHECK_OK(close(unmounted[1]));
	WAIT_EXIT(keeper, 0);
}

int main(void) {
	if (!has_cap(CAP_SYS_ADMIN))
		return 0; // every part needs it
	key = 0x6b6600 + getpid() % 1000;
	snprintf(net_path, sizeof net_path, "%s", spath("net"));
	snprintf(ipc_path, sizeof ipc_path, "%s", spath("ipc"));
	snprintf(mnt_path, sizeof mnt_path, "%s", spath("mnt"));
	const char *files[] = {net_path, ipc_path, mnt_path};
	for (int i = 0; i < 3; i++) {
		int fd = open(files[i], O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
		CHECK(fd >= 0);
		close(fd);
	}
	in_private_ns(run, NULL);
	return 0;
}
