// user_namespace_ids: IDs are shown and taken in the caller's user
// namespace. Before its maps are written, a new namespace sees its own
// IDs and a file's owner as 65534 (in stat and /proc/self/status); after
// "0 UID 1" it sees itself as root, and a file owned by UID as owned by
// 0. fchown to an ID without a mapping is EINVAL. SCM_CREDENTIALS carry
// the sender's IDs as the receiver's namespace sees them, and a sender
// may not claim an unmapped ID (EINVAL).
//
//go:build ignore

#include "userns_check.h"
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>

// status_ids returns the four IDs of /proc/self/status's line key.
static void status_ids(const char *key, unsigned ids[4]) {
	char buf[4096];
	proc_read(0, "status", buf, sizeof buf);
	char *p = strstr(buf, key);
	if (!p)
		FAIL("no %s in /proc/self/status", key);
	if (sscanf(p + strlen(key), "%u %u %u %u", &ids[0], &ids[1], &ids[2], &ids[3]) != 4)
		FAIL("bad %s line", key);
}

int main(int argc, char **argv) {
	(void)argc;
	unsigned uid = getuid(), gid = getgid();
	struct stat st;
	CHECK_OK(stat(argv[1], &st));
	unsigned owner = st.st_uid;
	pid_t pid = XFORK();
	if (pid == 0) {
		CHECK_OK(unshare(CLONE_NEWUSER));
		unsigned ids[4];
		status_ids("Uid:", ids);
		CHECK(ids[0] == 65534 && ids[1] == 65534 && ids[2] == 65534 && ids[3] == 65534);
		status_ids("Gid:", ids);
		CHECK(ids[0] == 65534 && ids[3] == 65534);
		CHECK_OK(stat(argv[1], &st));
		CHECK_EQ((long)st.st_uid, 65534);

		char map[64];
		CHECK_OK(proc_write(0, "setgroups", "deny"));
		snprintf(map, sizeof map, "0 %u 1", uid);
		CHECK_OK(proc_write(0, "uid_map", map));
		snprintf(map, sizeof map, "0 %u 1", gid);
		CHECK_OK(proc_write(0, "gid_map", map));
		status_ids("Uid:", ids);
		CHECK(ids[0] == 0 && ids[1] == 0 && ids[2] == 0 && ids[3] == 0);
		status_ids("Gid:", ids);
		CHECK(ids[0] == 0 && ids[3] == 0);
		CHECK_OK(stat(argv[1], &st));
		CHECK_EQ((long)st.st_uid, owner == uid ? 0 : 65534);

		int mfd = memfd_create("ids", 0);
		CHECK(mfd >= 0);
		CHECK_ERR(fchown(mfd, 12345, -1), EINVAL);
		CHECK_ERR(fchown(mfd, -1, 12345), EINVAL);
		CHECK_OK(fchown(mfd, 0, 0));
		CHECK_OK(fstat(mfd, &st));
		CHECK(st.st_uid == 0 && st.st_gid == 0);

		int sv[2], on = 1;
		CHECK_OK(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
		CHECK_OK(setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &on, sizeof on));
		CHECK_EQ(send(sv[0], "a", 1, 0), 1);
		char data;
		union {
			char buf[CMSG_SPACE(sizeof(struct ucred))];
			struct cmsghdr align;
		} u;
		struct iovec iov = {&data, 1};
		struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
		CHECK_EQ(recvmsg(sv[1], &mh, 0), 1);
		struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
		CHECK(cm && cm->cmsg_type == SCM_CREDENTIALS);
		struct ucred cr;
		memcpy(&cr, CMSG_DATA(cm), sizeof cr);
		CHECK(cr.uid == 0 && cr.gid == 0);
		// Claiming an unmapped ID.
		struct ucred claim = {getpid(), 1, 0};
		mh.msg_controllen = sizeof u.buf;
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_CREDENTIALS;
		cm->cmsg_len = CMSG_LEN(sizeof claim);
		memcpy(CMSG_DATA(cm), &claim, sizeof claim);
		CHECK_ERR(sendmsg(sv[0], &mh, 0), EINVAL);
		claim.uid = 0;
		memcpy(CMSG_DATA(cm), &claim, sizeof claim);
		CHECK_EQ(sendmsg(sv[0], &mh, 0), 1);
		_exit(0);
	}
	WAIT_EXIT(pid, 0);
	return 0;
}
