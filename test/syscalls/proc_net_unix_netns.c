// proc_net_unix_netns: /proc/net/unix lists the AF_UNIX sockets of the
// reader's network namespace only (unix_seq_next skips sockets whose
// sock_net is another namespace). A socket's namespace is the one it was
// made in: a child that unshares CLONE_NEWNET lists the socket it makes
// afterwards, not those of the parent's namespace (not even one it keeps
// open itself from before the unshare); the parent lists its own and
// not the child's. Each socket is found by its inode number
// (/proc/net/unix's Inode column) and by its abstract name.
//
//go:build ignore

#include "task_check.h"
#include <linux/capability.h>
#include <sched.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

static unsigned long ino_of(int fd) {
	struct stat st;
	CHECK_OK(fstat(fd, &st));
	return st.st_ino;
}

static int bound(const char *name) {
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(s >= 0);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	size_t n = strlen(name);
	memcpy(a.sun_path + 1, name, n);
	CHECK_OK(bind(s, (struct sockaddr *)&a, offsetof(struct sockaddr_un, sun_path) + 1 + n));
	CHECK_OK(listen(s, 1));
	return s;
}

// listed reports whether /proc/net/unix, read now, has a line for the
// socket with inode ino, and if so that its path column is @name.
static int listed(unsigned long ino, const char *name) {
	FILE *f = fopen("/proc/net/unix", "r");
	CHECK(f != NULL);
	char line[512];
	int found = 0;
	CHECK(fgets(line, sizeof line, f) != NULL); // header
	while (fgets(line, sizeof line, f)) {
		unsigned long inode;
		char path[256] = "";
		int n = sscanf(line, "%*s %*s %*s %*s %*s %*s %lu %255s", &inode, path);
		CHECK(n >= 1);
		if (inode != ino)
			continue;
		found = 1;
		CHECK(path[0] == '@' && strcmp(path + 1, name) == 0);
	}
	fclose(f);
	return found;
}

int main(void) {
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2];
	CHECK_OK(syscall(SYS_capget, &h, d));
	if (!((d[0].effective >> CAP_SYS_ADMIN) & 1))
		return 0; // unshare(CLONE_NEWNET) needs it

	char pname[64], cname[64];
	snprintf(pname, sizeof pname, "cocoon-pnu-parent-%d", (int)getpid());
	snprintf(cname, sizeof cname, "cocoon-pnu-child-%d", (int)getpid());
	int ps = bound(pname);
	unsigned long pino = ino_of(ps);
	CHECK(listed(pino, pname));

	int ready[2], done[2];
	CHECK_OK(pipe(ready));
	CHECK_OK(pipe(done));
	fflush(NULL);
	pid_t pid = XFORK();
	if (pid == 0) {
		alarm(10);
		close(ready[0]);
		close(done[1]);
		CHECK_OK(unshare(CLONE_NEWNET));
		int cs = bound(cname);
		unsigned long cino = ino_of(cs);
		CHECK(listed(cino, cname));
		// The inherited socket is still open here, in the old namespace.
		CHECK(!listed(pino, pname));
		CHECK_EQ(write(ready[1], &cino, sizeof cino), (ssize_t)sizeof cino);
		char c;
		CHECK_EQ(read(done[0], &c, 1), 0);
		_exit(0);
	}
	close(ready[1]);
	close(done[0]);
	unsigned long cino;
	CHECK_EQ(read(ready[0], &cino, sizeof cino), (ssize_t)sizeof cino);
	CHECK(listed(pino, pname));
	CHECK(!listed(cino, cname));
	CHECK_OK(close(done[1]));
	WAIT_EXIT(pid, 0);
	close(ps);
	return 0;
}
