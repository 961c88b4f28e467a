// mq_open(3)/mq_unlink(3) and their errors: glibc strips the leading '/'
// (EINVAL without one) and the kernel checks the rest of the name (""
// ENOENT, "." and ".." or a '/' EACCES, over NAME_MAX ENAMETOOLONG, for
// both calls),
// EFAULT for the name or the attributes, ENOENT without O_CREAT, EEXIST
// with O_CREAT|O_EXCL, EINVAL for bad attributes on creation only and for
// O_ACCMODE 3 on an existing queue, EMFILE before anything else when no
// descriptor is free. Descriptors are close-on-exec whatever the flags;
// the mode is masked by the umask (set-ID and sticky bits kept); a queue
// without attributes gets min(msg_max, msg_default) and min(msgsize_max,
// msgsize_default). Another user gets EACCES from the mode bits and EPERM
// from mq_unlink(2) (the directory is sticky; glibc reports EACCES).
//go:build ignore

#include "mq_check.h"

static const char *shared;

static long raw_open(const char *name, int oflag, int mode, void *attr) {
	return syscall(SYS_mq_open, name, oflag, mode, attr);
}

static long sysctl_value(const char *name) {
	char path[128], buf[64];
	snprintf(path, sizeof path, "/proc/sys/fs/mqueue/%s", name);
	CHECK(read_text(path, buf, sizeof buf) > 0);
	return atol(buf);
}

static void other_user(void) {
	// 0640 root-owned: no access for others.
	CHECK_ERR(mq_open(shared, O_RDONLY), EACCES);
	CHECK_ERR(mq_open(shared, O_WRONLY), EACCES);
	// O_CREAT of an existing queue checks access like an open.
	CHECK_ERR(mq_open(shared, O_CREAT | O_RDWR, 0777, NULL), EACCES);
	// The directory is sticky: the kernel says EPERM, which glibc's
	// mq_unlink turns into EACCES.
	CHECK_ERR(syscall(SYS_mq_unlink, shared + 1), EPERM);
	CHECK_ERR(mq_unlink(shared), EACCES);
	// Limits: no CAP_SYS_RESOURCE, msg_max bounds mq_maxmsg.
	struct mq_attr big = {0, sysctl_value("msg_max") + 1, 16, 0, {0}};
	CHECK_ERR(mq_open(mq_name("big"), O_CREAT | O_RDWR, 0600, &big), EINVAL);
}

static void other_user_readable(void) {
	mqd_t q = mq_open(shared, O_RDONLY);
	CHECK(q >= 0);
	CHECK_ERR(mq_open(shared, O_RDWR), EACCES);
	CHECK_ERR(mq_open(shared, O_WRONLY), EACCES);
	CHECK_OK(mq_close(q));
}

int main(void) {
	mq_fresh_namespace();
	const char *name = mq_name("open");
	mq_unlink(name);

	// Names.
	CHECK_ERR(mq_open("noslash", O_RDONLY), EINVAL);
	CHECK_ERR(raw_open("a/b", O_CREAT | O_RDWR, 0600, NULL), EACCES);
	CHECK_ERR(raw_open("", O_CREAT | O_RDWR, 0600, NULL), ENOENT);
	CHECK_ERR(raw_open(".", O_RDWR, 0600, NULL), EACCES);
	CHECK_ERR(raw_open("..", O_CREAT | O_RDWR, 0600, NULL), EACCES);
	CHECK_ERR(raw_open((char *)8, O_RDWR, 0600, NULL), EFAULT);
	CHECK_ERR(mq_open("/", O_CREAT | O_RDWR, 0600, NULL), ENOENT);
	char longname[300];
	memset(longname, 'q', sizeof longname);
	longname[256] = 0;
	CHECK_ERR(raw_open(longname, O_CREAT | O_RDWR, 0600, NULL), ENAMETOOLONG);
	longname[255] = 0; // NAME_MAX is fine, and does not exist
	CHECK_ERR(raw_open(longname, O_RDWR, 0600, NULL), ENOENT);
	longname[255] = 'q';
	longname[100] = '/';
	longname[299] = 0;
	CHECK_ERR(raw_open(longname, O_RDWR, 0600, NULL), EACCES);

	// Attributes: read before anything else, checked on creation.
	CHECK_ERR(raw_open(name + 1, O_CREAT | O_RDWR, 0600, (void *)8), EFAULT);
	struct mq_attr bad[] = {{0, 0, 16, 0, {0}}, {0, 4, 0, 0, {0}}, {0, -1, 16, 0, {0}}, {0, 4, -5, 0, {0}}};
	for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CHECK_ERR(mq_open(name, O_CREAT | O_RDWR, 0600, &bad[i]), EINVAL);
	CHECK_ERR(mq_open(name, O_RDWR), ENOENT);
	CHECK_ERR(mq_unlink(name), ENOENT);
	CHECK_ERR(mq_unlink("noslash"), EINVAL);
	CHECK_ERR(syscall(SYS_mq_unlink, "a/b"), EACCES);
	CHECK_ERR(syscall(SYS_mq_unlink, ""), ENOENT);
	CHECK_ERR(syscall(SYS_mq_unlink, ".."), EACCES);
	CHECK_ERR(syscall(SYS_mq_unlink, (char *)8), EFAULT);
	longname[100] = 'q';
	longname[256] = 0;
	CHECK_ERR(syscall(SYS_mq_unlink, longname), ENAMETOOLONG);

	// Creation.
	umask(022);
	struct mq_attr a = {0, 4, 16, 0, {0}};
	mqd_t q = mq_open(name, O_CREAT | O_EXCL | O_RDWR, 07777, &a);
	CHECK(q >= 0);
	CHECK_EQ(fcntl(q, F_GETFD), FD_CLOEXEC);
	struct stat st;
	CHECK_OK(fstat(q, &st));
	CHECK_EQ(st.st_mode, S_IFREG | 07755);
	CHECK_EQ(st.st_uid, geteuid());
	struct mq_attr got;
	CHECK_OK(mq_getattr(q, &got));
	CHECK_EQ(got.mq_flags, 0);
	CHECK_EQ(got.mq_maxmsg, 4);
	CHECK_EQ(got.mq_msgsize, 16);
	CHECK_EQ(got.mq_curmsgs, 0);
	CHECK_ERR(mq_open(name, O_CREAT | O_EXCL | O_RDWR, 0600, &a), EEXIST);
	CHECK_ERR(mq_open(name, O_CREAT | O_EXCL | O_RDWR, 0600, &bad[0]), EEXIST);
	// An existing queue ignores the attributes.
	mqd_t q2 = mq_open(name, O_CREAT | O_RDWR | O_NONBLOCK, 0600, &bad[0]);
	CHECK(q2 >= 0);
	CHECK_EQ(fcntl(q2, F_GETFD), FD_CLOEXEC);
	CHECK_OK(mq_getattr(q2, &got));
	CHECK_EQ(got.mq_flags, O_NONBLOCK);
	CHECK_EQ(got.mq_maxmsg, 4);
	CHECK_ERR(raw_open(name + 1, 3, 0, NULL), EINVAL);
	CHECK_OK(mq_close(q2));
	CHECK_OK(mq_unlink(name));
	CHECK_ERR(mq_open(name, O_RDWR), ENOENT);
	// The open descriptor still works.
	CHECK_OK(mq_send(q, "x", 1, 0));
	CHECK_OK(mq_getattr(q, &got));
	CHECK_EQ(got.mq_curmsgs, 1);
	CHECK_OK(mq_close(q));

	// Defaults come from the sysctls.
	q = mq_open(name, O_CREAT | O_EXCL | O_RDWR, 0600, NULL);
	CHECK(q >= 0);
	CHECK_OK(mq_getattr(q, &got));
	long msg = sysctl_value("msg_max"), msgdef = sysctl_value("msg_default");
	long size = sysctl_value("msgsize_max"), sizedef = sysctl_value("msgsize_default");
	CHECK_EQ(got.mq_maxmsg, msg < msgdef ? msg : msgdef);
	CHECK_EQ(got.mq_msgsize, size < sizedef ? size : sizedef);
	CHECK_OK(mq_close(q));
	CHECK_OK(mq_unlink(name));

	// EMFILE comes first: even for a name that does not exist.
	fflush(NULL);
	pid_t pid = XFORK();
	if (pid == 0) {
		int fd = dup(0);
		CHECK(fd >= 0);
		struct rlimit r = {fd + 1, fd + 1};
		CHECK_OK(setrlimit(RLIMIT_NOFILE, &r));
		CHECK_ERR(mq_open(name, O_RDWR), EMFILE);
		CHECK_ERR(mq_open(name, O_CREAT | O_RDWR, 0600, &a), EMFILE);
		CHECK_OK(close(fd));
		q = mq_open(name, O_CREAT | O_EXCL | O_RDWR, 0600, &a);
		CHECK_EQ(q, fd);
		CHECK_OK(mq_unlink(name));
		_exit(0);
	}
	WAIT_EXIT(pid, 0);

	// Permissions, as another user.
	if (geteuid() == 0) {
		shared = mq_name("shared");
		umask(0);
		q = mq_make(shared, O_RDWR, 4, 16);
		CHECK_OK(fchmod(q, 0640));
		as_user(54321, other_user);
		CHECK_OK(fchmod(q, 0644));
		as_user(54321, other_user_readable);
		CHECK_OK(mq_close(q));
		CHECK_OK(mq_unlink(shared));
	}
	return 0;
}
