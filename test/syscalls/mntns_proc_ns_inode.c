// mntns_proc_ns_inode: /proc/<pid>/ns/mnt reads "mnt:[N]"; stat through
// it, and fstat of the file it opens, give inode N. Processes in one mount
// namespace show the same N, a process that unshared its namespace a new
// one (its parent's is unchanged), and its /proc/self/mountinfo numbers
// the copied mounts afresh. Runs as root, in a private namespace of its
// own (mntns_check.h).
//
//go:build ignore

#include "mntns_check.h"

static void test(void *arg) {
	(void)arg;
	unsigned long own = mnt_ns(0);
	struct stat st;
	CHECK_OK(stat("/proc/self/ns/mnt", &st));
	CHECK_EQ(st.st_ino, own);
	int fd = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 0);
	CHECK_OK(fstat(fd, &st));
	CHECK_EQ(st.st_ino, own);
	CHECK(S_ISREG(st.st_mode));
	char buf[8];
	CHECK_ERR(read(fd, buf, sizeof buf), EINVAL);
	close(fd);
	CHECK_EQ(mnt_ns(getpid()), own);
	int root_id = mount_id("/");
	CHECK(root_id > 0);

	int ready[2], done[2];
	CHECK_OK(pipe(ready));
	CHECK_OK(pipe(done));
	char c;
	fflush(NULL);
	pid_t same = XFORK();
	if (same == 0) {
		CHECK_EQ(mnt_ns(0), own);
		_exit(0);
	}
	WAIT_EXIT(same, 0);
	fflush(NULL);
	pid_t pid = XFORK();
	if (pid == 0) {
		CHECK_OK(unshare(CLONE_NEWNS));
		unsigned long mine = mnt_ns(0);
		CHECK(mine != own);
		CHECK_OK(stat("/proc/self/ns/mnt", &st));
		CHECK_EQ(st.st_ino, mine);
		// The copy's mounts are new mounts.
		int id = mount_id("/");
		CHECK(id > 0 && id != root_id);
		CHECK_EQ(write(ready[1], "1", 1), 1);
		CHECK_EQ(read(done[0], &c, 1), 1);
		_exit(0);
	}
	CHECK_EQ(read(ready[0], &c, 1), 1);
	unsigned long theirs = mnt_ns(pid);
	CHECK(theirs != own);
	CHECK_EQ(mnt_ns(0), own);
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/ns/mnt", (int)pid);
	CHECK_OK(stat(path, &st));
	CHECK_EQ(st.st_ino, theirs);
	CHECK_EQ(mount_id("/"), root_id);
	CHECK_EQ(write(done[1], "1", 1), 1);
	WAIT_EXIT(pid, 0);
}

int main(void) {
	if (geteuid() != 0)
		return 0;
	in_private_ns(test, NULL);
	return 0;
}
