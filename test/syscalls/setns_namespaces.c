// setns_namespaces: setns(2) joins another process's UTS, IPC, network
// and PID namespaces through its /proc/<pid>/ns files (nstype 0 or the
// matching CLONE_NEW* flag) or through a pidfd with several flags at once:
// the caller then sees that namespace's hostname, System V objects and
// listeners; a joined PID namespace is where its later children are
// created (it must be the caller's own or below it, else EINVAL). The
// namespace files' inode numbers match their links' names. Without
// CAP_SYS_ADMIN setns is EPERM; a file of another kind than nstype, or a
// pidfd with no flags, is EINVAL.
//
//go:build ignore

#include "inet_check.h"
#include "netlink_check.h"
#include "task_check.h"
#include <linux/capability.h>
#include <sched.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/utsname.h>

static key_t shm_key;
static int port;

static int ns_open(pid_t pid, const char *kind) {
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/ns/%s", (int)pid, kind);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 0);
	// The link names the file's inode.
	char link[64], want[64];
	ssize_t n = readlink(path, link, sizeof link - 1);
	CHECK(n > 0);
	link[n] = 0;
	struct stat st;
	CHECK_OK(fstat(fd, &st));
	snprintf(want, sizeof want, "%s:[%lu]", strcmp(kind, "pid_for_children") == 0 ? "pid" : kind, (unsigned long)st.st_ino);
	CHECK(strcmp(link, want) == 0);
	return fd;
}

static ino_t self_ino(const char *kind) {
	char path[64];
	snprintf(path, sizeof path, "/proc/self/ns/%s", kind);
	struct stat st;
	CHECK_OK(stat(path, &st));
	return st.st_ino;
}

// sees_other checks that the caller is in the other process's UTS, IPC
// and network namespaces.
static void sees_other(void) {
	struct utsname u;
	CHECK_OK(uname(&u));
	CHECK(strcmp(u.nodename, "cocoon-setns") == 0);
	CHECK(shmget(shm_key, 0, 0) >= 0);
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(s >= 0);
	struct sockaddr_in a = lo4(port);
	CHECK_OK(connect(s, (struct sockaddr *)&a, sizeof a));
	close(s);
}

static void drop_sys_admin(void) {
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2];
	CHECK_OK(syscall(SYS_capget, &h, d));
	d[0].effective &= ~(1u << CAP_SYS_ADMIN);
	CHECK_OK(syscall(SYS_capset, &h, d));
}

int main(void) {
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2];
	CHECK_OK(syscall(SYS_capget, &h, d));
	if (!((d[0].effective >> CAP_SYS_ADMIN) & 1))
		return 0; // every part needs it
	shm_key = 0x5e7500 + getpid() % 1000;

	// The other process: new UTS, IPC and network namespaces, each with
	// something to find.
	int ready[2], done[2];
	CHECK_OK(pipe(ready));
	CHECK_OK(pipe(done));
	fflush(NULL);
	pid_t other = XFORK();
	if (other == 0) {
		CHECK_OK(unshare(CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET));
		CHECK_OK(sethostname("cocoon-setns", 12));
		int shm = shmget(shm_key, 4096, IPC_CREAT | IPC_EXCL | 0600);
		CHECK(shm >= 0);
		int fd = nl_open();
		struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_index = 1, .ifi_flags = IFF_UP, .ifi_change = IFF_UP};
		nl_send(fd, RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, 1, &ifi, sizeof ifi);
		CHECK_EQ(nl_collect(fd, 1, NULL, NULL), 0);
		int l = listener(AF_INET, 16);
		int p = port_of(l);
		CHECK_EQ(write(ready[1], &p, sizeof p), sizeof p);
		close(done[1]);
		char c;
		CHECK_EQ(read(done[0], &c, 1), 0);
		CHECK_OK(shmctl(shm, IPC_RMID, NULL));
		_exit(0);
	}
	close(ready[1]);
	close(done[0]);
	CHECK_EQ(read(ready[0], &port, sizeof port), sizeof port);
	int uts = ns_open(other, "uts"), ipc = ns_open(other, "ipc"), net = ns_open(other, "net");
	CHECK(self_ino("uts") != 0);

	// Through the files, one at a time.
	fflush(NULL);
	pid_t pid = XFORK();
	if (pid == 0) {
		CHECK_ERR(setns(uts, CLONE_NEWIPC), EINVAL);
		CHECK_ERR(setns(net, CLONE_NEWUTS), EINVAL);
		CHECK_OK(setns(uts, CLONE_NEWUTS));
		CHECK_OK(setns(ipc, 0));
		CHECK_OK(setns(net, CLONE_NEWNET));
		struct stat st;
		CHECK_OK(fstat(net, &st));
		CHECK_EQ(self_ino("net"), st.st_ino);
		sees_other();
		_exit(0);
	}
	WAIT_EXIT(pid, 0);

	// Through a pidfd, all at once.
	int pidfd = syscall(SYS_pidfd_open, other, 0);
	CHECK(pidfd >= 0);
	fflush(NULL);
	pid = XFORK();
	if (pid == 0) {
		CHECK_ERR(setns(pidfd, 0), EINVAL);
		CHECK_OK(setns(pidfd, CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET));
		sees_other();
		_exit(0);
	}
	WAIT_EXIT(pid, 0);

	// Without CAP_SYS_ADMIN.
	fflush(NULL);
	pid = XFORK();
	if (pid == 0) {
		drop_sys_admin();
		CHECK_ERR(setns(uts, CLONE_NEWUTS), EPERM);
		CHECK_ERR(setns(ipc, CLONE_NEWIPC), EPERM);
		CHECK_ERR(setns(net, CLONE_NEWNET), EPERM);
		CHECK_ERR(setns(pidfd, CLONE_NEWUTS), EPERM);
		_exit(0);
	}
	WAIT_EXIT(pid, 0);
	CHECK_OK(close(done[1]));
	WAIT_EXIT(other, 0);

	// PID namespaces: a child unshares one and starts its init.
	int own_pid_ns = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
	CHECK(own_pid_ns >= 0);
	int pready[2], pdone[2];
	CHECK_OK(pipe(pready));
	CHECK_OK(pipe(pdone));
	fflush(NULL);
	pid_t unsharer = XFORK();
	if (unsharer == 0) {
		CHECK_OK(unshare(CLONE_NEWPID));
		pid_t init = XFORK();
		if (init == 0) {
			close(pdone[1]);
			char c;
			CHECK_EQ(read(pdone[0], &c, 1), 0);
			_exit(0);
		}
		close(pdone[1]);
		CHECK_EQ(write(pready[1], &init, sizeof init), sizeof init);
		WAIT_EXIT(init, 0);
		_exit(0);
	}
	close(pready[1]);
	close(pdone[0]);
	pid_t init;
	CHECK_EQ(read(pready[0], &init, sizeof init), sizeof init);
	int pidns = ns_open(init, "pid");
	fflush(NULL);
	pid = XFORK();
	if (pid == 0) {
		CHECK_ERR(setns(pidns, CLONE_NEWUTS), EINVAL);
		CHECK_OK(setns(pidns, CLONE_NEWPID));
		struct stat st;
		CHECK_OK(fstat(pidns, &st));
		CHECK_EQ(self_ino("pid_for_children"), st.st_ino);
		CHECK(self_ino("pid") != st.st_ino); // the caller stays where it is
		int p[2];
		CHECK_OK(pipe(p));
		fflush(NULL);
		pid_t member = XFORK();
		if (member == 0) {
			pid_t mine = getpid();
			CHECK_EQ(write(p[1], &mine, sizeof mine), sizeof mine);
			// Not the caller's namespace or below it.
			CHECK_ERR(setns(own_pid_ns, CLONE_NEWPID), EINVAL);
			_exit(0);
		}
		pid_t seen;
		CHECK_EQ(read(p[0], &seen, sizeof seen), sizeof seen);
		CHECK_EQ(seen, 2); // after the namespace's init
		WAIT_EXIT(member, 0);
		_exit(0);
	}
	WAIT_EXIT(pid, 0);
	CHECK_OK(close(pdone[1]));
	WAIT_EXIT(unsharer, 0);
	return 0;
}
