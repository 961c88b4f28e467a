// fs_getdents_legacy: the old getdents(2) (struct linux_dirent, the type in
// each record's last byte) lists the same entries, inodes, offsets and
// types as getdents64, continues where a small buffer stopped, is EINVAL
// for a buffer too small for one record and ENOTDIR on a file.
//
//go:build ignore

#include "fs_check.h"

struct linux_dirent {
	unsigned long d_ino;
	unsigned long d_off;
	unsigned short d_reclen;
	char d_name[];
};

struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

#define NFILES 40

struct entry {
	char name[64];
	unsigned long ino, off;
	unsigned char type;
};

// list64 reads the directory with getdents64 into e, returning the count.
static int list64(struct entry *e, int max) {
	int fd = open(".", O_RDONLY | O_DIRECTORY);
	CHECK(fd >= 0);
	char buf[8192];
	int n = 0;
	long got;
	while ((got = syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0) {
		for (long off = 0; off < got;) {
			struct linux_dirent64 *d = (void *)(buf + off);
			CHECK(n < max);
			snprintf(e[n].name, sizeof e[n].name, "%s", d->d_name);
			e[n].ino = d->d_ino, e[n].off = d->d_off, e[n].type = d->d_type;
			n++;
			off += d->d_reclen;
		}
	}
	CHECK_EQ(got, 0);
	close(fd);
	return n;
}

// list reads it with the old getdents and a buffer of size bytes.
static int list(struct entry *e, int max, size_t size) {
	int fd = open(".", O_RDONLY | O_DIRECTORY);
	CHECK(fd >= 0);
	char buf[8192];
	int n = 0;
	long got;
	while ((got = syscall(SYS_getdents, fd, buf, size)) > 0) {
		for (long off = 0; off < got;) {
			struct linux_dirent *d = (void *)(buf + off);
			CHECK(d->d_reclen % 8 == 0);
			CHECK(d->d_reclen >= 20 + strlen(d->d_name));
			CHECK(n < max);
			snprintf(e[n].name, sizeof e[n].name, "%s", d->d_name);
			e[n].ino = d->d_ino, e[n].off = d->d_off;
			e[n].type = ((unsigned char *)d)[d->d_reclen - 1];
			n++;
			off += d->d_reclen;
		}
	}
	CHECK_EQ(got, 0);
	close(fd);
	return n;
}

int main(void) {
	scratch_cd();
	char name[64];
	for (int i = 0; i < NFILES; i++) {
		snprintf(name, sizeof name, "file-with-a-longish-name-%02d", i);
		int fd = open(name, O_CREAT | O_WRONLY, 0644);
		CHECK(fd >= 0);
		close(fd);
	}
	CHECK_OK(mkdir("sub", 0755));
	CHECK_OK(symlink("file-with-a-longish-name-00", "link"));

	static struct entry want[NFILES + 8], got[NFILES + 8];
	int n = list64(want, NFILES + 8);
	CHECK_EQ(n, NFILES + 4); // ., .., sub, link and the files
	for (size_t size = 64; size <= 8192; size *= 8) {
		memset(got, 0, sizeof got);
		CHECK_EQ(list(got, NFILES + 8, size), n);
		for (int i = 0; i < n; i++) {
			CHECK(strcmp(got[i].name, want[i].name) == 0);
			CHECK_EQ(got[i].ino, want[i].ino);
			CHECK_EQ(got[i].off, want[i].off);
			CHECK_EQ(got[i].type, want[i].type);
		}
	}
	for (int i = 0; i < n; i++) {
		if (strcmp(want[i].name, "sub") == 0)
			CHECK(want[i].type == DT_DIR || want[i].type == DT_UNKNOWN);
		if (strcmp(want[i].name, "link") == 0)
			CHECK(want[i].type == DT_LNK || want[i].type == DT_UNKNOWN);
	}

	int fd = open(".", O_RDONLY | O_DIRECTORY);
	CHECK(fd >= 0);
	char small[16];
	CHECK_ERR(syscall(SYS_getdents, fd, small, sizeof small), EINVAL);
	close(fd);
	fd = open("file-with-a-longish-name-01", O_RDONLY);
	CHECK(fd >= 0);
	char buf[512];
	CHECK_ERR(syscall(SYS_getdents, fd, buf, sizeof buf), ENOTDIR);
	close(fd);
	CHECK_ERR(syscall(SYS_getdents, 999, buf, sizeof buf), EBADF);
	return 0;
}
