// mntns_setns: setns(2) with a /proc/<pid>/ns/mnt descriptor (nstype 0 or
// CLONE_NEWNS) or a pidfd (CLONE_NEWNS) moves the caller into that mount
// namespace: it sees that namespace's mounts, and its root and working
// directory are the namespace's root. A namespace file of the wrong type
// for nstype, or a descriptor that is no namespace, is EINVAL; a caller
// sharing its file-system context (CLONE_FS) gets EINVAL; without
// CAP_SYS_ADMIN it is EPERM. Runs as root, in a private namespace of its
// own (mntns_check.h).
//
//go:build ignore

#include "mntns_check.h"

static int other_ns_fd;

static void nobody(void *arg) {
	(void)arg;
	CHECK_ERR(setns(other_ns_fd, CLONE_NEWNS), EPERM);
}

static void test(void *arg) {
	(void)arg;
	mount_tmpfs(spath("mine"));
	make_file(spath("mine/f"), 0644, "f", 1);
	int own_fd = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
	CHECK(own_fd >= 0);
	int ready[2], done[2];
	CHECK_OK(pipe(ready));
	CHECK_OK(pipe(done));
	char c;
	fflush(NULL);
	pid_t other = XFORK();
	if (other == 0) {
		// Another namespace: without "mine", with "theirs".
		CHECK_OK(unshare(CLONE_NEWNS));
		CHECK_OK(umount2(spath("mine"), 0));
		mount_tmpfs(spath("theirs"));
		make_file(spath("theirs/g"), 0644, "g", 1);
		CHECK_EQ(write(ready[1], "1", 1), 1);
		CHECK_EQ(read(done[0], &c, 1), 1);
		_exit(0);
	}
	CHECK_EQ(read(ready[0], &c, 1), 1);
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/ns/mnt", (int)other);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 0);
	other_ns_fd = fd;
	struct stat st;
	CHECK_OK(fstat(fd, &st));
	CHECK_EQ(st.st_ino, mnt_ns(other));

	// Wrong nstype; not a namespace.
	CHECK_ERR(setns(fd, CLONE_NEWUTS), EINVAL);
	int plain = open(spath("mine/f"), O_RDONLY);
	CHECK(plain >= 0);
	CHECK_ERR(setns(plain, 0), EINVAL);
	close(plain);
	CHECK_ERR(setns(-1, 0), EBADF);

	// A child sharing its file-system context cannot move.
	fflush(NULL);
	long sharer = syscall(SYS_clone, CLONE_FS | SIGCHLD, 0, 0, 0, 0);
	CHECK(sharer >= 0);
	if (sharer == 0) {
		CHECK_ERR(setns(fd, CLONE_NEWNS), EINVAL);
		_exit(0);
	}
	WAIT_EXIT(sharer, 0);

	for (int how = 0; how < 3; how++) {
		fflush(NULL);
		pid_t pid = XFORK();
		if (pid == 0) {
			CHECK_OK(chdir(spath("mine")));
			if (how == 0) {
				CHECK_OK(setns(fd, 0));
			} else if (how == 1) {
				CHECK_OK(setns(fd, CLONE_NEWNS));
			} else {
				int pidfd = syscall(SYS_pidfd_open, other, 0);
				CHECK(pidfd >= 0);
				CHECK_OK(setns(pidfd, CLONE_NEWNS));
			}
			CHECK_EQ(mnt_ns(0), mnt_ns(other));
			char cwd[4096];
			CHECK(getcwd(cwd, sizeof cwd) != NULL);
			CHECK_EQ(strcmp(cwd, "/"), 0);
			CHECK(lexists(spath("theirs/g")));
			CHECK(!lexists(spath("mine/f")));
			CHECK(!is_mounted(spath("mine")));
			// And back.
			CHECK_OK(setns(own_fd, CLONE_NEWNS));
			CHECK(lexists(spath("mine/f")));
			CHECK(!lexists(spath("theirs/g")));
			_exit(0);
		}
		WAIT_EXIT(pid, 0);
	}
	as_nobody(nobody, NULL);
	CHECK_EQ(write(done[1], "1", 1), 1);
	WAIT_EXIT(other, 0);
	close(fd);
	close(own_fd);
	CHECK_OK(umount2(spath("mine"), 0));
}

int main(void) {
	if (geteuid() != 0)
		return 0;
	scratch();
	CHECK_OK(mkdir(spath("mine"), 0755));
	CHECK_OK(mkdir(spath("theirs"), 0755));
	in_private_ns(test, NULL);
	return 0;
}
