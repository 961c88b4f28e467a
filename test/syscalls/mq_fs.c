// The mqueue file system: `mount -t mqueue` (no options) shows the IPC
// namespace's queues as the regular files of one sticky, world-writable
// directory, every mount the same directory (one superblock per
// namespace). A queue's file has st_size 80 and its creator's mode and
// owner; read(2) gives the "QSIZE:... NOTIFY:... SIGNO:... NOTIFY_PID:..."
// line; write(2) is EINVAL; open(2) gives a descriptor mq_receive and
// mq_getattr accept; open(2) with O_CREAT and mknod(2) of a regular file
// make a queue with the default attributes; unlink(2) removes one; chmod
// works on queues and on the directory, whose mode mq_open obeys; nothing
// else can be made (EPERM). An mq descriptor reads as "/NAME" in
// /proc/self/fd. Natively the program takes a mount and an IPC namespace
// of its own; the sandbox is its own (unshare is EINVAL there).
//go:build ignore

#include "fs_check.h"
#include "mq_check.h"
#include <sys/mount.h>
#include <sys/statfs.h>

static const char *qname; // "/cocoon-fs-PID"

static void nobody_create(void *want_errno) {
	errno = 0;
	mqd_t q = mq_open(mq_name("nobody"), O_CREAT | O_RDWR, 0600, NULL);
	if (want_errno) {
		CHECK_EQ(q, -1);
		CHECK_EQ(errno, *(int *)want_errno);
		return;
	}
	CHECK(q >= 0);
	CHECK_OK(mq_unlink(mq_name("nobody")));
}

static int listed(const char *dir, const char *name, int *count) {
	DIR *d = opendir(dir);
	CHECK(d != NULL);
	int found = 0;
	*count = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		(*count)++;
		if (strcmp(e->d_name, name) == 0) {
			CHECK_EQ(e->d_type, DT_REG);
			found = 1;
		}
	}
	closedir(d);
	return found;
}

static long sysctl_value(const char *name) {
	char path[128], buf[64];
	snprintf(path, sizeof path, "/proc/sys/fs/mqueue/%s", name);
	CHECK(read_text(path, buf, sizeof buf) > 0);
	return atol(buf);
}

int main(void) {
	mq_fresh_namespace();
	if (unshare(CLONE_NEWNS) != 0)
		CHECK_EQ(errno, EINVAL);
	CHECK_OK(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL));
	scratch_cd();
	CHECK_OK(mkdir("m", 0755));
	CHECK_OK(mkdir("m2", 0755));
	CHECK_ERR(mount("none", spath("m"), "mqueue", 0, "size=1"), EINVAL);
	CHECK_OK(mount("none", spath("m"), "mqueue", 0, NULL));
	CHECK_OK(mount("none", spath("m2"), "mqueue", 0, NULL));

	struct statfs sfs;
	CHECK_OK(statfs("m", &sfs));
	CHECK_EQ(sfs.f_type, 0x19800202); // MQUEUE_MAGIC
	CHECK_EQ(sfs.f_namelen, 255);
	struct stat root, root2, st;
	CHECK_OK(stat("m", &root));
	CHECK_EQ(root.st_mode, S_IFDIR | 01777);
	CHECK_EQ(root.st_size, 40);
	CHECK_OK(stat("m2", &root2));
	CHECK_EQ(root2.st_dev, root.st_dev);
	CHECK_EQ(root2.st_ino, root.st_ino);

	// A queue made by mq_open shows in both mounts.
	qname = mq_name("fs");
	char path[128], path2[128];
	snprintf(path, sizeof path, "m%s", qname);
	snprintf(path2, sizeof path2, "m2%s", qname);
	umask(022);
	struct mq_attr a = {0, 4, 64, 0, {0}};
	mqd_t q = mq_open(qname, O_CREAT | O_EXCL | O_RDWR, 0640, &a);
	CHECK(q >= 0);
	CHECK_OK(stat(path, &st));
	CHECK_EQ(st.st_mode, S_IFREG | 0640);
	CHECK_EQ(st.st_size, 80);
	CHECK_EQ(st.st_nlink, 1);
	CHECK_EQ(st.st_uid, geteuid());
	CHECK_EQ(st.st_dev, root.st_dev);
	struct stat fst;
	CHECK_OK(fstat(q, &fst));
	CHECK_EQ(fst.st_ino, st.st_ino);
	CHECK_EQ(fst.st_dev, st.st_dev);
	CHECK_OK(stat("m", &root));
	CHECK_EQ(root.st_size, 60);
	int count;
	CHECK(listed("m", qname + 1, &count));
	CHECK_EQ(count, 3);
	CHECK(listed("m2", qname + 1, &count));

	char fdlink[64], target[256];
	snprintf(fdlink, sizeof fdlink, "/proc/self/fd/%d", q);
	ssize_t n = readlink(fdlink, target, sizeof target - 1);
	CHECK(n > 0);
	target[n] = 0;
	CHECK(strcmp(target, qname) == 0);

	// The status line, through open(2).
	CHECK_OK(mq_send(q, "hello", 5, 1));
	CHECK_OK(mq_send(q, "ab", 2, 7));
	int fd = open(path, O_RDONLY);
	CHECK(fd >= 0);
	char want[128], got[128];
	snprintf(want, sizeof want, "QSIZE:%-10lu NOTIFY:%-5d SIGNO:%-5d NOTIFY_PID:%-6d\n", 7UL, 0, 0, 0);
	n = read(fd, got, 10);
	CHECK_EQ(n, 10);
	n = read(fd, got + 10, sizeof got - 10);
	CHECK_EQ(n, strlen(want) - 10);
	CHECK(memcmp(got, want, strlen(want)) == 0);
	CHECK_EQ(read(fd, got, sizeof got), 0);
	CHECK_ERR(write(fd, "x", 1), EBADF);
	// ... and the descriptor is the queue's.
	struct mq_attr ga;
	CHECK_OK(mq_getattr(fd, &ga));
	CHECK_EQ(ga.mq_maxmsg, 4);
	CHECK_EQ(ga.mq_msgsize, 64);
	CHECK_EQ(wait_fd(fd, POLLIN, 0), POLLIN);
	unsigned prio;
	CHECK_EQ(mq_receive(fd, got, sizeof got, &prio), 2);
	CHECK_EQ(prio, 7);
	CHECK_ERR(mq_send(fd, "x", 1, 0), EBADF);
	CHECK_OK(close(fd));
	fd = open(path2, O_RDWR);
	CHECK(fd >= 0);
	CHECK_ERR(write(fd, "x", 1), EINVAL);
	CHECK_OK(mq_send(fd, "via m2", 6, 0));
	CHECK_OK(close(fd));
	CHECK_OK(mq_getattr(q, &ga));
	CHECK_EQ(ga.mq_curmsgs, 2);

	// open(2) and mknod(2) make queues with the default attributes.
	fd = open("m/created", O_CREAT | O_EXCL | O_RDWR, 0666);
	CHECK(fd >= 0);
	CHECK_OK(fstat(fd, &st));
	CHECK_EQ(st.st_mode, S_IFREG | 0644);
	CHECK_OK(mq_getattr(fd, &ga));
	long msg = sysctl_value("msg_max"), msgdef = sysctl_value("msg_default");
	CHECK_EQ(ga.mq_maxmsg, msg < msgdef ? msg : msgdef);
	mqd_t c = mq_open("/created", O_RDWR);
	CHECK(c >= 0);
	CHECK_OK(mq_send(c, "c", 1, 0));
	static char big[1 << 16];
	CHECK_EQ(mq_receive(fd, big, sizeof big, NULL), 1);
	CHECK_OK(mq_close(c));
	CHECK_OK(close(fd));
	CHECK_OK(mknod("m/node", S_IFREG | 0600, 0));
	c = mq_open("/node", O_RDWR);
	CHECK(c >= 0);
	CHECK_OK(mq_close(c));
	CHECK_ERR(mknod("m/fifo", S_IFIFO | 0600, 0), EPERM);
	CHECK_ERR(mkdir("m/dir", 0755), EPERM);
	CHECK_ERR(symlink("created", "m/sym"), EPERM);
	CHECK_ERR(link("m/created", "m/link"), EPERM);
	CHECK_ERR(rename("m/created", "m/renamed"), EPERM);
	CHECK(listed("m", "node", &count));
	CHECK_EQ(count, 5);

	// unlink(2) removes a queue; an mq_open descriptor of it reads as
	// deleted.
	c = mq_open("/node", O_RDWR);
	CHECK(c >= 0);
	CHECK_OK(unlink("m/created"));
	CHECK_OK(unlink("m2/node"));
	snprintf(fdlink, sizeof fdlink, "/proc/self/fd/%d", c);
	n = readlink(fdlink, target, sizeof target - 1);
	CHECK(n > 0);
	target[n] = 0;
	CHECK(strcmp(target, "/node (deleted)") == 0);
	CHECK_OK(mq_close(c));
	CHECK_ERR(mq_open("/created", O_RDWR), ENOENT);
	CHECK_ERR(stat("m2/created", &st), ENOENT);
	CHECK_ERR(stat("m/node", &st), ENOENT);

	// chmod of a queue and of the directory.
	CHECK_OK(chmod(path, 0604));
	CHECK_OK(fstat(q, &fst));
	CHECK_EQ(fst.st_mode, S_IFREG | 0604);
	if (geteuid() == 0) {
		CHECK_OK(chmod("m", 0755));
		CHECK_OK(stat("m2", &root2));
		CHECK_EQ(root2.st_mode, S_IFDIR | 0755);
		int eacces = EACCES;
		as_nobody(nobody_create, &eacces);
		CHECK_OK(chmod("m2", 01777));
		as_nobody(nobody_create, NULL);
	}

	// mq_unlink: gone from every mount; the descriptor reads as deleted.
	CHECK_OK(mq_unlink(qname));
	CHECK_ERR(stat(path, &st), ENOENT);
	snprintf(fdlink, sizeof fdlink, "/proc/self/fd/%d", q);
	CHECK_ERR(stat(path2, &st), ENOENT);
	n = readlink(fdlink, target, sizeof target - 1);
	CHECK(n > 0);
	target[n] = 0;
	char deleted[128];
	snprintf(deleted, sizeof deleted, "%s (deleted)", qname);
	CHECK(strcmp(target, deleted) == 0);
	CHECK_OK(stat("m", &root));
	CHECK_EQ(root.st_size, 40);
	CHECK(!listed("m", qname + 1, &count));
	CHECK_EQ(count, 2);
	CHECK_EQ(mq_receive(q, got, sizeof got, NULL), 5);
	CHECK_OK(mq_close(q));

	CHECK_OK(umount2(spath("m"), 0));
	CHECK_OK(umount2(spath("m2"), 0));
	return 0;
}
