// fs_mmap_truncate_path: a shared mapping follows size changes made by
// name, not through the mapped descriptor: truncate(2) and an
// O_RDONLY|O_TRUNC open cut the mapping's pages past the new end (SIGBUS
// beyond the end's page, zeros in its tail), and growing the file again
// does not bring the cut data back, as with ftruncate.
//
//go:build ignore

#include "fs_check.h"

#include <setjmp.h>
#include <signal.h>

static sigjmp_buf jump;

static void on_sigbus(int sig) {
	(void)sig;
	siglongjmp(jump, 1);
}

// faults reports whether reading *p raises SIGBUS.
static int faults(volatile char *p) {
	if (sigsetjmp(jump, 1) == 0) {
		(void)*p;
		return 0;
	}
	return 1;
}

static void check_cut(const char *how, int (*shrink)(const char *)) {
	long ps = page_size();
	int fd = open("f", O_RDWR | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0);
	CHECK_OK(ftruncate(fd, 3 * ps));
	char *m = mmap(NULL, 3 * ps, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(m != MAP_FAILED);
	memset(m, 'a', 3 * ps);
	memset(m + ps, 'M', ps);
	CHECK_OK(shrink("f"));
	CHECK_EQ(fsize("f"), 100);
	char buf[200];
	CHECK_EQ(pread(fd, buf, sizeof buf, 0), 100);
	CHECK_FILL(buf, 'a', 100);
	CHECK_EQ(pread(fd, buf, sizeof buf, ps), 0);
	if (!faults(m + ps + 5)) {
		fprintf(stderr, "%s: the page past the new end is still mapped\n", how);
		exit(1);
	}
	CHECK_FILL(m + 100, 0, ps - 100);
	CHECK_OK(ftruncate(fd, 3 * ps));
	CHECK_FILL(m + ps, 0, 2 * ps);
	CHECK_EQ(pread(fd, buf, 10, ps), 10);
	CHECK_FILL(buf, 0, 10);
	CHECK_OK(munmap(m, 3 * ps));
	close(fd);
}

static int by_truncate(const char *path) { return truncate(path, 100); }

// by_open_trunc empties the file with an O_RDONLY|O_TRUNC open, then
// writes its first 100 bytes back through another descriptor.
static int by_open_trunc(const char *path) {
	int fd = open(path, O_RDONLY | O_TRUNC);
	if (fd < 0)
		return -1;
	close(fd);
	char a[100];
	memset(a, 'a', sizeof a);
	fd = open(path, O_WRONLY);
	if (fd < 0 || pwrite(fd, a, sizeof a, 0) != sizeof a)
		return -1;
	return close(fd);
}

int main(void) {
	scratch_cd();
	signal(SIGBUS, on_sigbus);
	check_cut("truncate(2)", by_truncate);
	check_cut("O_RDONLY|O_TRUNC", by_open_trunc);
	return 0;
}
