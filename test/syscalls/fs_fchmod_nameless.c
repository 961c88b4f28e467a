// fs_fchmod_nameless: fchmod and fchown of descriptions whose inode is in
// no directory. An anonymous pipe's inode (pipefs) changes like any other:
// both ends show the new mode and owner, ctime moves, and a chown clears
// the set-user-ID bit (and set-group-ID with group execute). Anonymous
// inodes (eventfd, epoll, timerfd, signalfd, inotify) refuse every change
// with EOPNOTSUPP (anon_inode_setattr, Linux 6.12 on) and keep their mode.
// A pipe belongs to the user who made it, who may change its mode (run as
// nobody when the program is root). A socket's inode (sockfs) changes too:
// fchmod sets its mode, fchown to its own owner works.
//
//go:build ignore

#include "fs_check.h"
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>

static struct stat fstat_of(int fd) {
	struct stat st;
	CHECK_OK(fstat(fd, &st));
	return st;
}

static void check_refused(int fd) {
	CHECK(fd >= 0);
	struct stat before = fstat_of(fd);
	CHECK_ERR(fchmod(fd, 0644), EOPNOTSUPP);
	CHECK_ERR(fchown(fd, before.st_uid, before.st_gid), EOPNOTSUPP);
	CHECK_EQ(fstat_of(fd).st_mode, before.st_mode);
	CHECK_OK(close(fd));
}

// own_pipe checks, as the calling user, that a new pipe is this user's and
// that the user may change its mode, but not give it away unless root.
static void own_pipe(void *arg) {
	(void)arg;
	int p[2];
	CHECK_OK(pipe(p));
	struct stat st = fstat_of(p[0]);
	CHECK_EQ(st.st_uid, geteuid());
	CHECK_EQ(st.st_gid, getegid());
	CHECK_OK(fchmod(p[1], 0604));
	CHECK_EQ(fstat_of(p[0]).st_mode, S_IFIFO | 0604);
	if (geteuid() != 0)
		CHECK_ERR(fchown(p[0], 0, -1), EPERM);
	CHECK_OK(close(p[0]));
	CHECK_OK(close(p[1]));
}

int main(void) {
	int p[2];
	CHECK_OK(pipe(p));
	struct stat before = fstat_of(p[0]);
	CHECK_EQ(before.st_mode & S_IFMT, S_IFIFO);
	struct timespec pause = {0, 20 * 1000 * 1000};
	nanosleep(&pause, NULL);

	CHECK_OK(fchmod(p[0], 0640));
	struct stat st = fstat_of(p[1]); // the other end: the same inode
	CHECK_EQ(st.st_mode, S_IFIFO | 0640);
	CHECK(st.st_ctim.tv_sec > before.st_ctim.tv_sec ||
	      (st.st_ctim.tv_sec == before.st_ctim.tv_sec && st.st_ctim.tv_nsec > before.st_ctim.tv_nsec));
	CHECK_OK(fchmod(p[1], 0170600)); // file type bits are ignored
	CHECK_EQ(fstat_of(p[0]).st_mode, S_IFIFO | 0600);

	CHECK_OK(fchmod(p[0], 06750));
	CHECK_EQ(fstat_of(p[0]).st_mode, S_IFIFO | 06750);
	CHECK_OK(fchown(p[1], before.st_uid, before.st_gid)); // its own owner
	st = fstat_of(p[0]);
	CHECK_EQ(st.st_mode, S_IFIFO | 0750);
	CHECK_EQ(st.st_uid, before.st_uid);
	CHECK_EQ(st.st_gid, before.st_gid);
	CHECK_OK(fchown(p[0], -1, -1));
	CHECK_EQ(fstat_of(p[1]).st_mode, S_IFIFO | 0750);
	CHECK_OK(close(p[0]));
	CHECK_OK(close(p[1]));

	int sv[2];
	CHECK_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	struct stat sb = fstat_of(sv[0]);
	CHECK_EQ(sb.st_mode & S_IFMT, S_IFSOCK);
	CHECK_OK(fchmod(sv[0], 0640));
	CHECK_EQ(fstat_of(sv[0]).st_mode, S_IFSOCK | 0640);
	CHECK_OK(fchown(sv[0], sb.st_uid, sb.st_gid));
	CHECK_EQ(fstat_of(sv[0]).st_uid, sb.st_uid);
	CHECK_OK(close(sv[0]));
	CHECK_OK(close(sv[1]));

	own_pipe(NULL);
	if (geteuid() == 0)
		as_nobody(own_pipe, NULL);

	check_refused(eventfd(0, 0));
	check_refused(epoll_create1(0));
	check_refused(timerfd_create(CLOCK_MONOTONIC, 0));
	check_refused(inotify_init1(0));
	sigset_t none;
	sigemptyset(&none);
	check_refused(signalfd(-1, &none, 0));
	return 0;
}
