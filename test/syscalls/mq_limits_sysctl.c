// The fs.mqueue sysctls of the IPC namespace (set for the run, in a fresh
// IPC namespace natively) and the limits they and RLIMIT_MSGQUEUE put on
// mq_open: /proc/sys/fs/mqueue shows them; a queue without attributes gets
// min(msg_max, msg_default) messages of min(msgsize_max, msgsize_default)
// bytes; without CAP_SYS_RESOURCE mq_maxmsg and mq_msgsize above msg_max
// and msgsize_max are EINVAL and a queue past queues_max is ENOSPC (with
// it, the ceilings are 65536 and 16 MiB and queues_max does not apply);
// each queue charges its creator's RLIMIT_MSGQUEUE with
// maxmsg * (msgsize + sizeof(struct msg_msg)) + min(maxmsg, MQ_PRIO_MAX) *
// sizeof(struct posix_msg_tree_node) bytes (48 and 48 on amd64) until it
// is unlinked and closed (EMFILE past the limit). Root may write the
// files (EINVAL out of range); others may only read them.
//
// sandbox: sysctl fs.mqueue.msg_max=20
// sandbox: sysctl fs.mqueue.queues_max=4
// sandbox: sysctl fs.mqueue.msgsize_default=1024
//
//go:build ignore

#include "mq_check.h"

static long sysctl_value(const char *name) {
	char path[128], buf[64];
	snprintf(path, sizeof path, "/proc/sys/fs/mqueue/%s", name);
	CHECK(read_text(path, buf, sizeof buf) > 0);
	return atol(buf);
}

static int write_sysctl(const char *name, const char *value) {
	char path[128];
	snprintf(path, sizeof path, "/proc/sys/fs/mqueue/%s", name);
	int fd = open(path, O_WRONLY);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, value, strlen(value));
	int e = errno;
	close(fd);
	errno = e;
	return n == (ssize_t)strlen(value) ? 0 : -1;
}

static mqd_t make(const char *tag, long maxmsg, long msgsize) {
	struct mq_attr a = {0, maxmsg, msgsize, 0, {0}};
	return mq_open(mq_name(tag), O_CREAT | O_EXCL | O_RDWR, 0600, &a);
}

static void unprivileged(void) {
	CHECK(!has_cap(CAP_SYS_RESOURCE));
	CHECK_ERR(make("u0", 21, 16), EINVAL);
	CHECK_ERR(make("u0", 20, 8193), EINVAL);
	mqd_t q0 = make("u0", 20, 8192);
	CHECK(q0 >= 0);
	// queues_max 4: the parent holds one queue, so two more fit.
	mqd_t q1 = make("u1", 1, 16), q2 = make("u2", 1, 16);
	CHECK(q1 >= 0 && q2 >= 0);
	CHECK_ERR(make("u3", 1, 16), ENOSPC);
	// An unlinked queue counts while it is open.
	CHECK_OK(mq_unlink(mq_name("u2")));
	CHECK_ERR(make("u3", 1, 16), ENOSPC);
	CHECK_OK(mq_close(q2));
	mqd_t q3 = make("u3", 1, 16);
	CHECK(q3 >= 0);
	CHECK_ERR(write_sysctl("msg_max", "30"), EACCES);
	CHECK_OK(mq_unlink(mq_name("u0")));
	CHECK_OK(mq_unlink(mq_name("u1")));
	CHECK_OK(mq_unlink(mq_name("u3")));
	CHECK_OK(mq_close(q0));
	CHECK_OK(mq_close(q1));
	CHECK_OK(mq_close(q3));
}

static void accounting(void) {
	struct rlimit r = {1000, 1000};
	CHECK_OK(setrlimit(RLIMIT_MSGQUEUE, &r));
	// 904 + 48 + 48 = 1000: exactly the limit.
	mqd_t q = make("a0", 1, 904);
	CHECK(q >= 0);
	CHECK_ERR(make("a1", 1, 1), EMFILE);
	CHECK_OK(mq_close(q)); // still named
	CHECK_ERR(make("a1", 1, 1), EMFILE);
	CHECK_OK(mq_unlink(mq_name("a0")));
	// 2 * (452 + 48) + 2 * 48 = 1096: too much.
	CHECK_ERR(make("a1", 2, 452), EMFILE);
	q = make("a1", 2, 404); // 2 * (404 + 48) + 2 * 48 = 1000
	CHECK(q >= 0);
	CHECK_OK(mq_unlink(mq_name("a1")));
	CHECK_OK(mq_close(q));
}

int main(void) {
	CHECK_EQ(sysctl_value("msg_max"), 20);
	CHECK_EQ(sysctl_value("queues_max"), 4);
	CHECK_EQ(sysctl_value("msgsize_max"), 8192);
	CHECK_EQ(sysctl_value("msg_default"), 10);
	CHECK_EQ(sysctl_value("msgsize_default"), 1024);
	struct stat st;
	CHECK_OK(stat("/proc/sys/fs/mqueue/msg_max", &st));
	CHECK_EQ(st.st_mode, S_IFREG | 0644);

	// Defaults.
	const char *def = mq_name("def");
	mq_unlink(def);
	mqd_t q = mq_open(def, O_CREAT | O_EXCL | O_RDWR, 0600, NULL);
	CHECK(q >= 0);
	struct mq_attr a;
	CHECK_OK(mq_getattr(q, &a));
	CHECK_EQ(a.mq_maxmsg, 10);
	CHECK_EQ(a.mq_msgsize, 1024);

	if (geteuid() != 0)
		return 0;
	as_user(54321, unprivileged);
	as_user(54322, accounting);

	// Root: CAP_SYS_RESOURCE lifts the limits to the hard ceilings.
	if (has_cap(CAP_SYS_RESOURCE)) {
		// Past msg_max, up to the hard ceilings; RLIMIT_MSGQUEUE still
		// applies (raised if the hard limit may be).
		mqd_t q21 = make("r0", 21, 1);
		CHECK(q21 >= 0);
		CHECK_ERR(make("r1", 65537, 1), EINVAL);
		CHECK_ERR(make("r1", 1, (16 << 20) + 1), EINVAL);
		struct rlimit r = {RLIM_INFINITY, RLIM_INFINITY};
		if (setrlimit(RLIMIT_MSGQUEUE, &r) == 0) {
			mqd_t big = make("r1", 65536, 1);
			CHECK(big >= 0);
			CHECK_OK(mq_unlink(mq_name("r1")));
			CHECK_OK(mq_close(big));
			big = make("r1", 1, 16 << 20);
			CHECK(big >= 0);
			CHECK_OK(mq_unlink(mq_name("r1")));
			CHECK_OK(mq_close(big));
		} else {
			CHECK_ERR(make("r1", 65536, 1), EMFILE);
			CHECK_ERR(make("r1", 1, 16 << 20), EMFILE);
		}
		// Six queues at once, queues_max 4.
		mqd_t more[4];
		for (int i = 0; i < 4; i++) {
			char tag[8];
			snprintf(tag, sizeof tag, "m%d", i);
			more[i] = make(tag, 1, 16);
			CHECK(more[i] >= 0);
			CHECK_OK(mq_unlink(mq_name(tag)));
		}
		for (int i = 0; i < 4; i++)
			CHECK_OK(mq_close(more[i]));
		CHECK_OK(mq_unlink(mq_name("r0")));
		CHECK_OK(mq_close(q21));
	} else {
		CHECK_ERR(make("r0", 21, 1), EINVAL);
	}

	// Root writes the files; values out of range are EINVAL.
	CHECK_OK(write_sysctl("msg_default", "5\n"));
	CHECK_EQ(sysctl_value("msg_default"), 5);
	const char *w = mq_name("w");
	mqd_t q2 = mq_open(w, O_CREAT | O_EXCL | O_RDWR, 0600, NULL);
	CHECK(q2 >= 0);
	CHECK_OK(mq_getattr(q2, &a));
	CHECK_EQ(a.mq_maxmsg, 5);
	CHECK_OK(mq_close(q2));
	CHECK_OK(mq_unlink(w));
	CHECK_OK(write_sysctl("msg_default", "30"));
	q2 = mq_open(w, O_CREAT | O_EXCL | O_RDWR, 0600, NULL);
	CHECK(q2 >= 0);
	CHECK_OK(mq_getattr(q2, &a));
	CHECK_EQ(a.mq_maxmsg, 20); // min(msg_max, msg_default)
	CHECK_OK(mq_close(q2));
	CHECK_OK(mq_unlink(w));
	CHECK_ERR(write_sysctl("msg_default", "0"), EINVAL);
	CHECK_ERR(write_sysctl("msg_max", "65537"), EINVAL);
	CHECK_ERR(write_sysctl("msgsize_max", "127"), EINVAL);
	CHECK_ERR(write_sysctl("msg_max", "ten"), EINVAL);
	CHECK_EQ(sysctl_value("msg_default"), 30);
	CHECK_EQ(sysctl_value("msg_max"), 20);
	CHECK_OK(write_sysctl("msg_default", "10"));

	CHECK_OK(mq_close(q));
	CHECK_OK(mq_unlink(def));
	return 0;
}
