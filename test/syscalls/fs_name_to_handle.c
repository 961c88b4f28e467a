// fs_name_to_handle: name_to_handle_at either is unsupported by the file
// system (EOPNOTSUPP: accepted, the test ends) or returns a handle: with
// handle_bytes 0 it fails with EOVERFLOW and reports the needed size; the
// handle and mount id are stable for the same file (also via a hard link
// and after rename) and differ between files; open_by_handle_at (root, with
// a mount fd) opens the same inode. ext4 and tmpfs both support handles.
//
//go:build ignore

#include "fs_check.h"

struct handle {
	struct file_handle h;
	unsigned char bytes[MAX_HANDLE_SZ];
};

int main(void) {
	scratch_cd();
	make_file("f", 0644, "handle", 6);
	make_file("g", 0644, NULL, 0);
	struct handle a = {.h.handle_bytes = 0};
	int mnt;
	if (name_to_handle_at(AT_FDCWD, "f", &a.h, &mnt, 0) != 0 && errno == EOPNOTSUPP)
		return 0;
	CHECK_EQ(errno, EOVERFLOW);
	unsigned need = a.h.handle_bytes;
	CHECK(need > 0 && need <= MAX_HANDLE_SZ);

	a.h.handle_bytes = MAX_HANDLE_SZ;
	CHECK_OK(name_to_handle_at(AT_FDCWD, "f", &a.h, &mnt, 0));
	CHECK_EQ(a.h.handle_bytes, need);
	struct handle b = {.h.handle_bytes = MAX_HANDLE_SZ};
	int mnt2;
	CHECK_OK(link("f", "f2"));
	CHECK_OK(rename("f2", "f3"));
	CHECK_OK(name_to_handle_at(AT_FDCWD, "f3", &b.h, &mnt2, 0));
	CHECK_EQ(mnt2, mnt);
	CHECK_EQ(b.h.handle_type, a.h.handle_type);
	CHECK_EQ(b.h.handle_bytes, a.h.handle_bytes);
	CHECK_MEM(b.bytes, a.bytes, a.h.handle_bytes);
	struct handle c = {.h.handle_bytes = MAX_HANDLE_SZ};
	CHECK_OK(name_to_handle_at(AT_FDCWD, "g", &c.h, &mnt2, 0));
	CHECK(c.h.handle_bytes != a.h.handle_bytes || memcmp(c.bytes, a.bytes, a.h.handle_bytes) != 0);

	// By fd with AT_EMPTY_PATH.
	int fd = open("f", O_RDONLY);
	struct handle d = {.h.handle_bytes = MAX_HANDLE_SZ};
	CHECK_OK(name_to_handle_at(fd, "", &d.h, &mnt2, AT_EMPTY_PATH));
	CHECK_MEM(d.bytes, a.bytes, a.h.handle_bytes);
	CHECK_ERR(name_to_handle_at(AT_FDCWD, "missing", &d.h, &mnt2, 0), ENOENT);

	if (geteuid() == 0) {
		int mfd = open(".", O_RDONLY | O_DIRECTORY);
		int h = open_by_handle_at(mfd, &a.h, O_RDONLY);
		CHECK(h >= 0);
		struct stat s1, s2;
		CHECK_OK(fstat(h, &s1));
		CHECK_OK(stat("f", &s2));
		CHECK_EQ(s1.st_ino, s2.st_ino);
		char buf[8];
		CHECK_EQ(read(h, buf, sizeof buf), 6);
		close(h);
		// Once the file is gone the handle is stale.
		CHECK_OK(unlink("g"));
		CHECK_ERR(open_by_handle_at(mfd, &c.h, O_RDONLY), ESTALE);
		close(mfd);
	}
	close(fd);
	return 0;
}
