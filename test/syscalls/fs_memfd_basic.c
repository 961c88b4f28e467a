// fs_memfd_basic: memfd_create returns an anonymous read/write regular file
// (size 0, can be written, truncated, read back) whose /proc/self/fd link
// is "/memfd:NAME (deleted)"; MFD_CLOEXEC sets FD_CLOEXEC; without
// MFD_ALLOW_SEALING the seals are F_SEAL_SEAL and adding seals is EPERM;
// unknown flags and names longer than 249 bytes are EINVAL.
//
//go:build ignore

#include "fs_check.h"

int main(void) {
	int fd = memfd_create("cocoon-test", MFD_CLOEXEC);
	CHECK(fd >= 0);
	CHECK_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC);
	CHECK_EQ(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDWR);
	struct stat st;
	CHECK_OK(fstat(fd, &st));
	CHECK(S_ISREG(st.st_mode));
	CHECK_EQ(st.st_size, 0);
	CHECK_EQ(st.st_nlink, 0);

	CHECK_EQ(write(fd, "memory", 6), 6);
	CHECK_OK(ftruncate(fd, 8192));
	CHECK_OK(fstat(fd, &st));
	CHECK_EQ(st.st_size, 8192);
	char buf[16];
	CHECK_EQ(pread(fd, buf, sizeof buf, 0), 16);
	CHECK_MEM(buf, "memory\0\0", 8);

	char link[64], target[256];
	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, target, sizeof target - 1);
	CHECK(n > 0);
	target[n] = 0;
	CHECK_EQ(strcmp(target, "/memfd:cocoon-test (deleted)"), 0);

	// Reopening through /proc gives a new description of the same file.
	int again = open(link, O_RDONLY);
	CHECK(again >= 0);
	CHECK_EQ(read(again, buf, 6), 6);
	CHECK_MEM(buf, "memory", 6);
	CHECK_EQ(lseek(fd, 0, SEEK_CUR), 6);
	close(again);

	CHECK_EQ(fcntl(fd, F_GET_SEALS), F_SEAL_SEAL);
	CHECK_ERR(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE), EPERM);
	int sealable = memfd_create("s", MFD_ALLOW_SEALING);
	CHECK(sealable >= 0);
	CHECK_EQ(fcntl(sealable, F_GET_SEALS), 0);
	CHECK_EQ(fcntl(sealable, F_GETFD), 0);

	CHECK_ERR(memfd_create("x", 0x100), EINVAL);
	char longname[260];
	memset(longname, 'n', sizeof longname - 1);
	longname[259] = 0;
	CHECK_ERR(memfd_create(longname, 0), EINVAL);
	longname[249] = 0;
	int ok = memfd_create(longname, 0);
	CHECK(ok >= 0);
	CHECK_ERR(memfd_create(bad_addr(), 0), EFAULT);
	// Pipes have no seals. (Regular files: EINVAL on ext4, but tmpfs
	// files answer F_SEAL_SEAL, so they are not checked.)
	int p[2];
	CHECK_OK(pipe(p));
	CHECK_ERR(fcntl(p[0], F_GET_SEALS), EINVAL);
	close(p[0]);
	close(p[1]);
	close(ok);
	close(sealable);
	close(fd);
	return 0;
}
