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
#include "ns_check.h"
#include <sys/shm.h>
#include <sys/utsname.h>

static key_t shm_key;
static int port;

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

// fill runs in the other process's new UTS, IPC and network namespaces
// and gives each something to find; it returns the port of a listener.
static int fill(int release_fd) {
	(void)release_fd;
	CHECK_OK(sethostname("cocoon-setns", 12));
	CHECK(shmget(shm_key, 4096, IPC_CREAT | IPC_EXCL | 0600) >= 0);
	lo_up();
	return port_of(listener(AF_INET, 16));
}

int main(void) {
	if (!has_cap(CAP_SYS_ADMIN))
		return 0; // every part needs it
	shm_key = 0x5e7500 + getpid() % 1000;

	// The other process: new UTS, IPC and network namespaces, each with
	// something to find.
	struct ns_holder other = ns_hold(CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET, fill, &port);
	int uts = ns_open(other.pid, "uts"), ipc = ns_open(other.pid, "ipc"), net = ns_open(other.pid, "net");
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
	int pidfd = syscall(SYS_pidfd_open, other.pid, 0);
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
		set_cap(CAP_SYS_ADMIN, 0);
		CHECK_ERR(setns(uts, CLONE_NEWUTS), EPERM);
		CHECK_ERR(setns(ipc, CLONE_NEWIPC), EPERM);
		CHECK_ERR(setns(net, CLONE_NEWNET), EPERM);
		CHECK_ERR(setns(pidfd, CLONE_NEWUTS), EPERM);
		_exit(0);
	}
	WAIT_EXIT(pid, 0);
	ns_release(other);

	// PID namespaces: a child unshares one and starts its init.
	int own_pid_ns = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
	CHECK(own_pid_ns >= 0);
	pid_t init;
	struct ns_holder unsharer = ns_hold(CLONE_NEWPID, start_pid_init, &init);
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
	ns_release(unsharer);
	return 0;
}
