// fs_ftruncate_errors: ftruncate needs a regular file open for writing:
// O_RDONLY fd -> EINVAL, O_PATH fd -> EBADF, a directory, pipe or socket
// -> EINVAL, a closed fd -> EBADF; truncate() without write permission on
// the file is EACCES (checked as uid 65534 when root).
//
//go:build ignore

#include "fs_check.h"
#include <sys/socket.h>

static void child(void *arg) {
	(void)arg;
	CHECK_ERR(truncate(spath("ro"), 0), EACCES);
	int fd = open(spath("ro"), O_RDONLY);
	CHECK(fd >= 0);
	CHECK_ERR(ftruncate(fd, 0), EINVAL);
	close(fd);
	CHECK_EQ(fsize(spath("ro")), 3);
}

int main(void) {
	scratch();
	make_file(spath("f"), 0644, "abc", 3);
	int ro = open(spath("f"), O_RDONLY);
	CHECK(ro >= 0);
	CHECK_ERR(ftruncate(ro, 0), EINVAL);
	int p = open(spath("f"), O_PATH);
	CHECK(p >= 0);
	CHECK_ERR(ftruncate(p, 0), EBADF);
	int d = open(scratch(), O_RDONLY | O_DIRECTORY);
	CHECK(d >= 0);
	CHECK_ERR(ftruncate(d, 0), EINVAL);
	int pp[2];
	CHECK_OK(pipe(pp));
	CHECK_ERR(ftruncate(pp[1], 0), EINVAL);
	int sv[2];
	CHECK_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	CHECK_ERR(ftruncate(sv[0], 0), EINVAL);
	CHECK_ERR(ftruncate(1000, 0), EBADF);
	int w = open(spath("f"), O_WRONLY);
	CHECK(w >= 0);
	close(w);
	CHECK_ERR(ftruncate(w, 0), EBADF);
	// O_WRONLY and O_RDWR work.
	w = open(spath("f"), O_WRONLY);
	CHECK_OK(ftruncate(w, 2));
	CHECK_EQ(fsize(spath("f")), 2);
	close(w);
	CHECK_EQ(fsize(spath("f")), 2);

	if (geteuid() == 0) {
		make_file(spath("ro"), 0644, "abc", 3);
		as_nobody(child, NULL);
		// Root bypasses the permission bits.
		CHECK_OK(chmod(spath("ro"), 0));
		CHECK_OK(truncate(spath("ro"), 1));
		CHECK_EQ(fsize(spath("ro")), 1);
	}
	close(ro);
	close(p);
	close(d);
	return 0;
}
