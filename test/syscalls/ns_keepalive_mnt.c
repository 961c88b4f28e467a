// ns_keepalive_mnt: an open /proc/<pid>/ns/mnt file keeps its mount
// namespace alive after every process in it has exited: a process
// unshares a mount namespace, mounts a tmpfs with a file in it and
// exits; a child that then joins the namespace through the kept file
// (setns) finds the mount and the file, and the namespace file's inode
// is its /proc/self/ns/mnt. Runs as root, in a private namespace of its
// own (mntns_check.h).
//
//go:build ignore

#include "mntns_check.h"
#include <sys/stat.h>

static void test(void *arg) {
	(void)arg;
	int ready[2], done[2];
	CHECK_OK(pipe(ready));
	CHECK_OK(pipe(done));
	char c;
	fflush(NULL);
	pid_t other = XFORK();
	if (other == 0) {
		CHECK_OK(unshare(CLONE_NEWNS));
		mount_tmpfs(spath("kept"));
		make_file(spath("kept/f"), 0644, "f", 1);
		CHECK_EQ(write(ready[1], "1", 1), 1);
		close(done[1]);
		CHECK_EQ(read(done[0], &c, 1), 0);
		_exit(0);
	}
	close(ready[1]);
	close(done[0]);
	CHECK_EQ(read(ready[0], &c, 1), 1);
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/ns/mnt", (int)other);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 0);
	struct stat st;
	CHECK_OK(fstat(fd, &st));
	CHECK_OK(close(done[1]));
	WAIT_EXIT(other, 0);
	CHECK(!is_mounted(spath("kept")));

	for (int i = 0; i < 2; i++) {
		fflush(NULL);
		pid_t pid = XFORK();
		if (pid == 0) {
			CHECK_OK(setns(fd, CLONE_NEWNS));
			CHECK_EQ(mnt_ns(0), st.st_ino);
			CHECK(is_mounted(spath("kept")));
			CHECK(lexists(spath("kept/f")));
			_exit(0);
		}
		WAIT_EXIT(pid, 0);
	}
	close(fd);
}

int main(void) {
	if (geteuid() != 0)
		return 0;
	scratch();
	CHECK_OK(mkdir(spath("kept"), 0755));
	in_private_ns(test, NULL);
	return 0;
}
