// statx: statx returns the basic stats in stx_mask and its fields agree
// with stat (mode, ino, nlink, size, blocks, blksize, mtime, dev);
// AT_SYMLINK_NOFOLLOW and AT_EMPTY_PATH work; a reserved mask bit or
// conflicting sync flags -> EINVAL.
//
//go:build ignore

#include "check.h"
#include <linux/stat.h>
#include <sys/sysmacros.h>

static int do_statx(int dfd, const char *path, int flags, unsigned mask, struct statx *stx) {
	return syscall(SYS_statx, dfd, path, flags, mask, stx);
}

int main(int argc, char **argv) {
	const char *small = fixture(argc, argv, "small.txt");
	struct stat st;
	struct statx stx;
	CHECK_EQ(stat(small, &st), 0);
	memset(&stx, 0xff, sizeof stx);
	CHECK_EQ(do_statx(AT_FDCWD, small, 0, STATX_BASIC_STATS, &stx), 0);
	CHECK_EQ(stx.stx_mask & STATX_BASIC_STATS, STATX_BASIC_STATS);
	CHECK_EQ(stx.stx_mode, st.st_mode);
	CHECK_EQ(stx.stx_ino, st.st_ino);
	CHECK_EQ(stx.stx_nlink, st.st_nlink);
	CHECK_EQ(stx.stx_nlink, 2);
	CHECK_EQ(stx.stx_uid, st.st_uid);
	CHECK_EQ(stx.stx_gid, st.st_gid);
	CHECK_EQ(stx.stx_size, SMALL_LEN);
	CHECK_EQ(stx.stx_blocks, st.st_blocks);
	CHECK_EQ(stx.stx_blksize, st.st_blksize);
	CHECK_EQ(stx.stx_mtime.tv_sec, FIXTURE_MTIME);
	CHECK_EQ(stx.stx_mtime.tv_nsec, 0);
	CHECK_EQ(stx.stx_ctime.tv_sec, st.st_ctim.tv_sec);
	CHECK_EQ(makedev(stx.stx_dev_major, stx.stx_dev_minor), st.st_dev);
	CHECK_EQ(stx.__spare0[0], 0);

	// Symlink itself vs its target.
	struct statx l;
	CHECK_EQ(do_statx(AT_FDCWD, fixture(argc, argv, "link"), AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &l), 0);
	CHECK(S_ISLNK(l.stx_mode));
	CHECK_EQ(l.stx_size, 9);
	CHECK(l.stx_ino != stx.stx_ino);
	CHECK_EQ(do_statx(AT_FDCWD, fixture(argc, argv, "link"), 0, STATX_BASIC_STATS, &l), 0);
	CHECK_EQ(l.stx_ino, stx.stx_ino);

	// AT_EMPTY_PATH on an fd, and a dirfd-relative lookup.
	int fd = open(small, O_RDONLY);
	CHECK(fd >= 0);
	CHECK_EQ(do_statx(fd, "", AT_EMPTY_PATH, STATX_SIZE, &l), 0);
	CHECK_EQ(l.stx_mask & STATX_SIZE, STATX_SIZE);
	CHECK_EQ(l.stx_size, SMALL_LEN);
	int dfd = open(argv[1], O_RDONLY | O_DIRECTORY);
	CHECK(dfd >= 0);
	CHECK_EQ(do_statx(dfd, "dir", AT_STATX_SYNC_AS_STAT, STATX_TYPE | STATX_MODE, &l), 0);
	CHECK(S_ISDIR(l.stx_mode));
	CHECK_EQ(l.stx_mode & 07777, 0755);
	CHECK_EQ(do_statx(dfd, "small.txt", AT_STATX_DONT_SYNC, 0, &l), 0); // empty mask is fine

	// Errors.
	CHECK_ERR(do_statx(AT_FDCWD, small, 0, 0x80000000u, &l), EINVAL);
	CHECK_ERR(do_statx(AT_FDCWD, small, AT_STATX_FORCE_SYNC | AT_STATX_DONT_SYNC, STATX_BASIC_STATS, &l), EINVAL);
	CHECK_ERR(do_statx(AT_FDCWD, small, 0x40000000, STATX_BASIC_STATS, &l), EINVAL);
	CHECK_ERR(do_statx(AT_FDCWD, fixture(argc, argv, "nope"), 0, STATX_BASIC_STATS, &l), ENOENT);
	CHECK_ERR(do_statx(AT_FDCWD, fixture(argc, argv, "loop1"), 0, STATX_BASIC_STATS, &l), ELOOP);
	CHECK_ERR(do_statx(1000, "x", 0, STATX_BASIC_STATS, &l), EBADF);
	CHECK_ERR(do_statx(AT_FDCWD, small, 0, STATX_BASIC_STATS, bad_addr()), EFAULT);
	return 0;
}
