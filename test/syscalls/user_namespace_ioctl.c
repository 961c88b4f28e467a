// user_namespace_ioctl: the ioctls of /proc/PID/ns files. NS_GET_NSTYPE
// names the kind; NS_GET_OWNER_UID a user namespace's creator, in the
// caller's IDs; NS_GET_PARENT and NS_GET_USERNS open a user namespace's
// parent (its owner), and the owner of another kind of namespace, as
// descriptors that name the same namespace as the ns/ link (inode
// number). A namespace above the caller's cannot be opened that way
// (EPERM). NS_GET_OWNER_UID of another kind is EINVAL.
//
//go:build ignore

#include "userns_check.h"
#include <linux/nsfs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

static ino_t ino_of(int fd) {
	struct stat st;
	CHECK_OK(fstat(fd, &st));
	return st.st_ino;
}

int main(void) {
	unsigned uid = getuid(), gid = getgid();
	pid_t pid = XFORK();
	if (pid == 0) {
		int outer = open("/proc/self/ns/user", O_RDONLY);
		CHECK(outer >= 0);
		CHECK_EQ(ioctl(outer, NS_GET_NSTYPE), CLONE_NEWUSER);
		int uts = open("/proc/self/ns/uts", O_RDONLY);
		CHECK(uts >= 0);
		CHECK_EQ(ioctl(uts, NS_GET_NSTYPE), CLONE_NEWUTS);
		uid_t owner;
		CHECK_ERR(ioctl(uts, NS_GET_OWNER_UID, &owner), EINVAL);

		CHECK_OK(unshare(CLONE_NEWUSER));
		char map[64];
		CHECK_OK(proc_write(0, "setgroups", "deny"));
		snprintf(map, sizeof map, "0 %u 1", uid);
		CHECK_OK(proc_write(0, "uid_map", map));
		snprintf(map, sizeof map, "0 %u 1", gid);
		CHECK_OK(proc_write(0, "gid_map", map));
		int mid = open("/proc/self/ns/user", O_RDONLY);
		CHECK(mid >= 0);
		// The creator, root inside.
		CHECK_OK(ioctl(mid, NS_GET_OWNER_UID, &owner));
		CHECK_EQ((long)owner, 0);
		// Its parent is above us.
		CHECK_ERR(ioctl(mid, NS_GET_PARENT), EPERM);
		CHECK_ERR(ioctl(mid, NS_GET_USERNS), EPERM);

		int to_child[2], to_parent[2];
		CHECK_OK(pipe(to_child));
		CHECK_OK(pipe(to_parent));
		pid_t c = XFORK();
		if (c == 0) {
			close(to_child[1]);
			close(to_parent[0]);
			CHECK_OK(unshare(CLONE_NEWUSER));
			sync_post(to_parent[1]);
			sync_wait(to_child[0]);
			_exit(0);
		}
		close(to_child[0]);
		close(to_parent[1]);
		sync_wait(to_parent[0]);
		char path[64];
		snprintf(path, sizeof path, "/proc/%d/ns/user", (int)c);
		int inner = open(path, O_RDONLY);
		CHECK(inner >= 0);
		int p = ioctl(inner, NS_GET_PARENT);
		CHECK(p >= 0);
		CHECK_EQ(ino_of(p), ino_of(mid));
		CHECK(fcntl(p, F_GETFD) & FD_CLOEXEC);
		int o = ioctl(inner, NS_GET_USERNS);
		CHECK(o >= 0);
		CHECK_EQ(ino_of(o), ino_of(mid));
		CHECK_OK(ioctl(inner, NS_GET_OWNER_UID, &owner));
		CHECK_EQ((long)owner, 0);
		// The UTS namespace still belongs to the initial one.
		CHECK_ERR(ioctl(uts, NS_GET_USERNS), EPERM);
		sync_post(to_child[1]);
		WAIT_EXIT(c, 0);
		_exit(0);
	}
	WAIT_EXIT(pid, 0);
	return 0;
}
