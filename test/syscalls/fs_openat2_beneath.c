// fs_openat2_beneath: openat2 with RESOLVE_BENEATH refuses any resolution
// leaving the dirfd's tree (absolute paths, "..", symlinks pointing out:
// EXDEV) but allows ".." that stays inside; RESOLVE_NO_SYMLINKS refuses
// every symlink (ELOOP), RESOLVE_NO_MAGICLINKS /proc/self/fd links; unknown
// resolve bits, a too small size and bad mode/flag combinations are
// EINVAL, a larger struct with non-zero tail E2BIG.
//
//go:build ignore

#include "fs_check.h"
#include <linux/openat2.h>

static int oa2(int dfd, const char *path, uint64_t flags, uint64_t resolve) {
	struct open_how how = {.flags = flags, .resolve = resolve};
	return syscall(SYS_openat2, dfd, path, &how, sizeof how);
}

int main(void) {
	scratch_cd();
	CHECK_OK(mkdir("root", 0755));
	CHECK_OK(mkdir("root/a", 0755));
	make_file("root/a/f", 0644, NULL, 0);
	make_file("outside", 0644, NULL, 0);
	CHECK_OK(symlink("../outside", "root/out"));
	CHECK_OK(symlink("a/f", "root/in"));
	CHECK_OK(symlink(spath("root/a/f"), "root/abs"));
	int root = open("root", O_PATH | O_DIRECTORY);
	CHECK(root >= 0);

	int fd = oa2(root, "a/f", O_RDONLY, RESOLVE_BENEATH);
	CHECK(fd >= 0);
	close(fd);
	fd = oa2(root, "a/../a/f", O_RDONLY, RESOLVE_BENEATH);
	CHECK(fd >= 0);
	close(fd);
	fd = oa2(root, "in", O_RDONLY, RESOLVE_BENEATH);
	CHECK(fd >= 0);
	close(fd);
	CHECK_ERR(oa2(root, "../outside", O_RDONLY, RESOLVE_BENEATH), EXDEV);
	CHECK_ERR(oa2(root, "a/../../outside", O_RDONLY, RESOLVE_BENEATH), EXDEV);
	CHECK_ERR(oa2(root, "out", O_RDONLY, RESOLVE_BENEATH), EXDEV);
	CHECK_ERR(oa2(root, "abs", O_RDONLY, RESOLVE_BENEATH), EXDEV);
	CHECK_ERR(oa2(root, spath("root/a/f"), O_RDONLY, RESOLVE_BENEATH), EXDEV);
	// Creating beneath works the same way.
	fd = oa2(root, "a/new", O_WRONLY | O_CREAT, RESOLVE_BENEATH);
	CHECK(fd >= 0);
	close(fd);
	CHECK(lexists("root/a/new"));

	// No symlinks at all.
	CHECK_ERR(oa2(root, "in", O_RDONLY, RESOLVE_NO_SYMLINKS), ELOOP);
	fd = oa2(root, "a/f", O_RDONLY, RESOLVE_NO_SYMLINKS);
	CHECK(fd >= 0);
	// Magic links: /proc/self/fd/N.
	char magic[64];
	snprintf(magic, sizeof magic, "/proc/self/fd/%d", fd);
	CHECK_ERR(oa2(AT_FDCWD, magic, O_RDONLY, RESOLVE_NO_MAGICLINKS), ELOOP);
	int again = oa2(AT_FDCWD, magic, O_RDONLY, 0);
	CHECK(again >= 0);
	close(again);
	close(fd);

	// Argument checking.
	CHECK_ERR(oa2(root, "a/f", O_RDONLY, 1ULL << 40), EINVAL);
	struct open_how how = {.flags = O_RDONLY};
	CHECK_ERR(syscall(SYS_openat2, root, "a/f", &how, 8), EINVAL);
	how.mode = 0644; // mode without O_CREAT
	CHECK_ERR(syscall(SYS_openat2, root, "a/f", &how, sizeof how), EINVAL);
	CHECK_ERR(oa2(root, "a/f", 1ULL << 40, 0), EINVAL);
	struct {
		struct open_how how;
		uint64_t extra;
	} big = {{.flags = O_RDONLY}, 1};
	CHECK_ERR(syscall(SYS_openat2, root, "a/f", &big, sizeof big), E2BIG);
	big.extra = 0;
	fd = syscall(SYS_openat2, root, "a/f", &big, sizeof big);
	CHECK(fd >= 0);
	close(fd);
	close(root);
	return 0;
}
