// fs_umask_create: the umask masks the mode of files created by open,
// creat, mkdir, mknod and mkfifo (and bind of a unix socket), but not of
// symlinks (always 0777) nor of later chmod calls; a child inherits it.
//
//go:build ignore

#include "fs_check.h"
#include <sys/socket.h>
#include <sys/un.h>

static mode_t lmode(const char *p) {
	struct stat st;
	CHECK_OK(lstat(p, &st));
	return st.st_mode & 07777;
}

int main(void) {
	scratch_cd();
	umask(027);
	int fd = open("o", O_CREAT | O_WRONLY, 0777);
	CHECK(fd >= 0);
	close(fd);
	CHECK_EQ(lmode("o"), 0750);
	fd = creat("c", 0666);
	CHECK(fd >= 0);
	close(fd);
	CHECK_EQ(lmode("c"), 0640);
	CHECK_OK(mkdir("d", 0777));
	CHECK_EQ(lmode("d"), 0750);
	CHECK_OK(mknod("n", S_IFREG | 0666, 0));
	CHECK_EQ(lmode("n"), 0640);
	CHECK_OK(mkfifo("p", 0666));
	CHECK_EQ(lmode("p"), 0640);
	CHECK_OK(symlink("o", "s"));
	CHECK_EQ(lmode("s"), 0777);
	fd = open(".", O_TMPFILE | O_RDWR, 0666);
	CHECK(fd >= 0);
	struct stat st;
	CHECK_OK(fstat(fd, &st));
	CHECK_EQ(st.st_mode & 07777, 0640);
	close(fd);

	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK(s >= 0);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	strcpy(a.sun_path, "sock");
	umask(0077);
	CHECK_OK(bind(s, (struct sockaddr *)&a, sizeof a));
	CHECK_EQ(lmode("sock"), 0700);
	close(s);

	// chmod is not masked.
	CHECK_OK(chmod("o", 0777));
	CHECK_EQ(lmode("o"), 0777);

	// A forked child inherits the mask.
	umask(0222);
	pid_t pid = XFORK();
	if (pid == 0) {
		int f = open("child", O_CREAT | O_WRONLY, 0777);
		_exit(f >= 0 && lmode("child") == 0555 ? 0 : 1);
	}
	WAIT_EXIT(pid, 0);
	umask(0);
	CHECK_OK(mkdir("z", 0777));
	CHECK_EQ(lmode("z"), 0777);
	return 0;
}
