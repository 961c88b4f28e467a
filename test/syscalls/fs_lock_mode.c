// fs_lock_mode: setting a write lock needs a descriptor open for writing
// and a read lock one open for reading (EBADF otherwise), while F_GETLK
// works with any access mode; an unknown l_type or l_whence is EINVAL; an
// O_PATH descriptor is EBADF; locks work on directories' files only (a
// directory fd can take a read lock).
//
//go:build ignore

#include "fs_check.h"

static int lk(int fd, int cmd, short type, short whence) {
	struct flock f = {.l_type = type, .l_whence = whence, .l_start = 0, .l_len = 1};
	return fcntl(fd, cmd, &f);
}

int main(void) {
	scratch_cd();
	make_file("f", 0644, NULL, 0);
	int ro = open("f", O_RDONLY);
	int wo = open("f", O_WRONLY);
	int rw = open("f", O_RDWR);
	int op = open("f", O_PATH);
	CHECK(ro >= 0 && wo >= 0 && rw >= 0 && op >= 0);
	CHECK_ERR(lk(ro, F_SETLK, F_WRLCK, SEEK_SET), EBADF);
	CHECK_ERR(lk(wo, F_SETLK, F_RDLCK, SEEK_SET), EBADF);
	CHECK_ERR(lk(ro, F_OFD_SETLK, F_WRLCK, SEEK_SET), EBADF);
	CHECK_ERR(lk(ro, F_SETLKW, F_WRLCK, SEEK_SET), EBADF);
	CHECK_OK(lk(ro, F_SETLK, F_RDLCK, SEEK_SET));
	CHECK_OK(lk(wo, F_SETLK, F_WRLCK, SEEK_SET));
	CHECK_OK(lk(rw, F_SETLK, F_RDLCK, SEEK_SET));
	CHECK_OK(lk(rw, F_SETLK, F_WRLCK, SEEK_SET));
	CHECK_OK(lk(ro, F_SETLK, F_UNLCK, SEEK_SET)); // unlock: any mode

	struct flock f = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_len = 1};
	CHECK_OK(fcntl(ro, F_GETLK, &f));
	CHECK_EQ(f.l_type, F_UNLCK);
	f.l_type = F_RDLCK;
	CHECK_OK(fcntl(wo, F_GETLK, &f));

	CHECK_ERR(lk(rw, F_SETLK, 42, SEEK_SET), EINVAL);
	CHECK_ERR(lk(rw, F_GETLK, 42, SEEK_SET), EINVAL);
	CHECK_ERR(lk(rw, F_SETLK, F_WRLCK, 7), EINVAL);
	CHECK_ERR(lk(op, F_SETLK, F_RDLCK, SEEK_SET), EBADF);
	CHECK_ERR(lk(1000, F_SETLK, F_RDLCK, SEEK_SET), EBADF);
	CHECK_ERR(fcntl(rw, F_SETLK, bad_addr()), EFAULT);

	int d = open(".", O_RDONLY | O_DIRECTORY);
	CHECK(d >= 0);
	CHECK_OK(lk(d, F_SETLK, F_RDLCK, SEEK_SET));
	CHECK_ERR(lk(d, F_SETLK, F_WRLCK, SEEK_SET), EBADF);
	close(d);
	close(op);
	close(rw);
	close(wo);
	close(ro);
	return 0;
}
