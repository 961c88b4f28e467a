// fs_shm: POSIX shared memory the way shm_open does it: a file created
// with O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC in /dev/shm, sized with
// ftruncate and mapped MAP_SHARED, is shared with a child that opens it by
// name; after unlink the name is gone (ENOENT) but the mappings and fd stay
// valid. The name is unique per run and removed at once.
//
//go:build ignore

#include "fs_check.h"

int main(void) {
	long ps = page_size();
	char name[64];
	snprintf(name, sizeof name, "/dev/shm/cocoon-fs-shm-%d-%ld", getpid(), (long)time(NULL));
	int fd = open(name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	CHECK(fd >= 0);
	CHECK_ERR(open(name, O_RDWR | O_CREAT | O_EXCL, 0600), EEXIST);
	CHECK_OK(ftruncate(fd, ps));
	volatile char *m = mmap(NULL, ps, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) {
		int e = errno;
		unlink(name);
		FAIL("mmap (errno %d)", e);
	}
	m[0] = 'P';
	int up[2];
	CHECK_OK(pipe(up));
	pid_t pid = XFORK();
	if (pid == 0) {
		alarm(10);
		int c = open(name, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
		if (c < 0)
			_exit(2);
		volatile char *cm = mmap(NULL, ps, PROT_READ | PROT_WRITE, MAP_SHARED, c, 0);
		if (cm == MAP_FAILED || cm[0] != 'P')
			_exit(3);
		cm[1] = 'C';
		sync_post(up[1], 'x');
		_exit(0);
	}
	sync_wait(up[0]);
	int ws = WAITPID(pid, 0);
	int rc = unlink(name);
	CHECK(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
	CHECK_EQ(rc, 0);
	CHECK_EQ(m[1], 'C');

	// Unlinked: gone by name, alive by fd and mapping.
	CHECK_ERR(open(name, O_RDWR), ENOENT);
	m[2] = 'Z';
	char buf[3];
	CHECK_EQ(pread(fd, buf, 3, 0), 3);
	CHECK_MEM(buf, "PCZ", 3);
	struct stat st;
	CHECK_OK(fstat(fd, &st));
	CHECK_EQ(st.st_nlink, 0);
	CHECK_EQ(st.st_size, ps);
	CHECK_OK(munmap((void *)m, ps));
	close(fd);
	return 0;
}
