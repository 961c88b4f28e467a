// fs_memfd_mmap_fork: a MAP_SHARED mapping of a memfd is shared with a
// forked child: stores by either are seen by the other (and by read() on
// the fd); a child that maps the fd itself after fork shares the same pages;
// a MAP_PRIVATE mapping's stores stay private.
//
//go:build ignore

#include "fs_check.h"

int main(void) {
	long ps = page_size();
	int fd = memfd_create("shared", 0);
	CHECK(fd >= 0);
	CHECK_OK(ftruncate(fd, 2 * ps));
	volatile char *m = mmap(NULL, 2 * ps, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(m != MAP_FAILED);
	char *priv = mmap(NULL, ps, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	CHECK(priv != MAP_FAILED);
	m[0] = 'p';
	int up[2], down[2];
	CHECK_OK(pipe(up));
	CHECK_OK(pipe(down));
	pid_t pid = XFORK();
	if (pid == 0) {
		alarm(10);
		CHECK_EQ(m[0], 'p');
		m[1] = 'c'; // inherited mapping
		char *own = mmap(NULL, 2 * ps, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		CHECK(own != MAP_FAILED);
		own[ps] = 'C'; // the child's own mapping of the same memfd
		priv[0] = 'x'; // private: parent must not see it
		sync_post(up[1], 'x');
		sync_wait(down[0]);
		CHECK_EQ(own[2], 'P');
		CHECK_EQ(m[2], 'P');
		_exit(0);
	}
	sync_wait(up[0]);
	CHECK_EQ(m[1], 'c');
	CHECK_EQ(m[ps], 'C');
	char buf[2];
	CHECK_EQ(pread(fd, buf, 2, 0), 2);
	CHECK_MEM(buf, "pc", 2);
	CHECK_EQ(priv[0], 'p'); // its page still tracks the file
	CHECK_EQ(pwrite(fd, "P", 1, 2), 1);
	sync_post(down[1], 'x');
	WAIT_EXIT(pid, 0);
	CHECK_OK(munmap((void *)m, 2 * ps));
	CHECK_OK(munmap(priv, ps));
	close(fd);
	return 0;
}
