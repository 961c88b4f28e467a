// fs_lock_ranges: record lock ranges split and merge: unlocking the middle
// of a locked range leaves two pieces (F_GETLK reports the piece it hits),
// l_len 0 locks to EOF and beyond, a negative l_len covers the bytes before
// l_start, SEEK_CUR/SEEK_END are relative to the offset/size, and a range
// starting before 0 is EINVAL; a write lock can be downgraded to read.
//
//go:build ignore

#include "fs_check.h"

static int lk(int fd, int cmd, short type, short whence, off_t start, off_t len, struct flock *out) {
	struct flock f = {.l_type = type, .l_whence = whence, .l_start = start, .l_len = len};
	int r = fcntl(fd, cmd, &f);
	if (out)
		*out = f;
	return r;
}

static void probe(int fd, off_t start, off_t len, short type, off_t ws, off_t wl) {
	struct flock f;
	CHECK_OK(lk(fd, F_GETLK, F_WRLCK, SEEK_SET, start, len, &f));
	if (f.l_type != type || (type != F_UNLCK && (f.l_start != ws || f.l_len != wl)))
		FAIL("probe [%lld,+%lld): got type %d [%lld,+%lld), want type %d [%lld,+%lld)",
		     (long long)start, (long long)len, f.l_type, (long long)f.l_start,
		     (long long)f.l_len, type, (long long)ws, (long long)wl);
}

int main(void) {
	scratch_cd();
	make_file("f", 0644, "0123456789", 10);
	int fd = open("f", O_RDWR);
	CHECK(fd >= 0);
	CHECK_OK(lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 0, 100, NULL));
	CHECK_OK(lk(fd, F_SETLK, F_UNLCK, SEEK_SET, 40, 20, NULL));
	CHECK_OK(lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 1000, 0, NULL)); // to EOF
	CHECK_OK(lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 300, -10, NULL)); // [290,300)
	CHECK_EQ(lseek(fd, 500, SEEK_SET), 500);
	CHECK_OK(lk(fd, F_SETLK, F_RDLCK, SEEK_CUR, 5, 5, NULL)); // [505,510)
	CHECK_OK(lk(fd, F_SETLK, F_RDLCK, SEEK_END, 190, 2, NULL)); // size 10: [200,202)
	CHECK_ERR(lk(fd, F_SETLK, F_WRLCK, SEEK_SET, -1, 5, NULL), EINVAL);
	CHECK_ERR(lk(fd, F_SETLK, F_WRLCK, SEEK_SET, 3, -5, NULL), EINVAL);
	CHECK_ERR(lk(fd, F_SETLK, F_WRLCK, SEEK_END, -20, 1, NULL), EINVAL);

	int up[2], down[2];
	CHECK_OK(pipe(up));
	CHECK_OK(pipe(down));
	pid_t pid = XFORK();
	if (pid == 0) {
		alarm(10);
		int c = open("f", O_RDWR);
		CHECK(c >= 0);
		probe(c, 0, 50, F_WRLCK, 0, 40);
		probe(c, 40, 20, F_UNLCK, 0, 0);
		probe(c, 50, 50, F_WRLCK, 60, 40);
		probe(c, 285, 10, F_WRLCK, 290, 10);
		probe(c, 300, 200, F_UNLCK, 0, 0);
		probe(c, 1 << 30, 1, F_WRLCK, 1000, 0);
		probe(c, 500, 10, F_RDLCK, 505, 5);
		probe(c, 201, 1, F_RDLCK, 200, 2);
		sync_post(up[1], 'x');
		sync_wait(down[0]);
		// After the parent's downgrade of [0,40): reads share.
		CHECK_OK(lk(c, F_SETLK, F_RDLCK, SEEK_SET, 0, 40, NULL));
		CHECK_ERR(lk(c, F_SETLK, F_WRLCK, SEEK_SET, 0, 1, NULL), EAGAIN);
		_exit(0);
	}
	sync_wait(up[0]);
	CHECK_OK(lk(fd, F_SETLK, F_RDLCK, SEEK_SET, 0, 40, NULL));
	sync_post(down[1], 'x');
	WAIT_EXIT(pid, 0);
	close(fd);
	return 0;
}
