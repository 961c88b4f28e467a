// getdents: getdents64 over the fixture's dir/ returns exactly ".", "..",
// f000..f099, "sub" and "lnk", each once, with the right d_type and (for
// files) d_ino == st_ino, across many small-buffer calls; then 0; lseek(0)
// rewinds; a too-small buffer -> EINVAL; a file fd -> ENOTDIR.
//
//go:build ignore

#include "check.h"
#include <dirent.h>

struct dent {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

static int count_entries(int fd, int dfd, int bufsize) {
	int seen[103] = {0}; // f000..f099, sub, lnk, "." + ".."
	int total = 0;
	char buf[4096] __attribute__((aligned(8)));
	for (;;) {
		long n = syscall(SYS_getdents64, fd, buf, bufsize);
		if (n < 0)
			FAIL("getdents64 (errno %d %s)", errno, errname(errno));
		if (n == 0)
			break;
		for (long off = 0; off < n;) {
			struct dent *d = (struct dent *)(buf + off);
			if (d->d_reclen == 0 || off + d->d_reclen > n)
				FAIL("bad d_reclen %d at %ld of %ld", d->d_reclen, off, n);
			off += d->d_reclen;
			total++;
			const char *nm = d->d_name;
			int idx;
			unsigned char want_type;
			if (!strcmp(nm, ".") || !strcmp(nm, "..")) {
				CHECK_EQ(d->d_type, DT_DIR);
				seen[102]++;
				continue;
			} else if (!strcmp(nm, "sub")) {
				idx = 100, want_type = DT_DIR;
			} else if (!strcmp(nm, "lnk")) {
				idx = 101, want_type = DT_LNK;
			} else if (nm[0] == 'f' && strlen(nm) == 4 && sscanf(nm + 1, "%d", &idx) == 1 && idx >= 0 && idx < 100) {
				want_type = DT_REG;
			} else {
				FAIL("unexpected entry %s", nm);
			}
			if (d->d_type != want_type)
				FAIL("%s: d_type %d want %d", nm, d->d_type, want_type);
			if (seen[idx]++)
				FAIL("%s listed twice", nm);
			struct stat st;
			CHECK_EQ(fstatat(dfd, nm, &st, AT_SYMLINK_NOFOLLOW), 0);
			if (d->d_ino != st.st_ino)
				FAIL("%s: d_ino %lu st_ino %lu", nm, (unsigned long)d->d_ino, (unsigned long)st.st_ino);
		}
	}
	for (int i = 0; i < 102; i++)
		if (seen[i] != 1)
			FAIL("entry %d seen %d times", i, seen[i]);
	CHECK_EQ(seen[102], 2);
	return total;
}

int main(int argc, char **argv) {
	int fd = open(fixture(argc, argv, "dir"), O_RDONLY | O_DIRECTORY);
	CHECK(fd >= 0);
	int dfd = open(fixture(argc, argv, "dir"), O_RDONLY | O_DIRECTORY);
	CHECK(dfd >= 0);
	CHECK_EQ(count_entries(fd, dfd, 64), 104); // many small calls
	CHECK_EQ(syscall(SYS_getdents64, fd, (char[256]){0}, 256), 0);
	CHECK_EQ(lseek(fd, 0, SEEK_SET), 0);
	CHECK_EQ(count_entries(fd, dfd, 4096), 104); // rewound

	// Empty directory: just "." and "..".
	int sub = open(fixture(argc, argv, "dir/sub"), O_RDONLY | O_DIRECTORY);
	CHECK(sub >= 0);
	char buf[1024] __attribute__((aligned(8)));
	long n = syscall(SYS_getdents64, sub, buf, sizeof buf);
	int entries = 0;
	for (long off = 0; off < n; off += ((struct dent *)(buf + off))->d_reclen)
		entries++;
	CHECK_EQ(entries, 2);

	CHECK_EQ(lseek(fd, 0, SEEK_SET), 0);
	CHECK_ERR(syscall(SYS_getdents64, fd, buf, 8), EINVAL);
	int file = open(fixture(argc, argv, "small.txt"), O_RDONLY);
	CHECK(file >= 0);
	CHECK_ERR(syscall(SYS_getdents64, file, buf, sizeof buf), ENOTDIR);
	CHECK_ERR(syscall(SYS_getdents64, 1000, buf, sizeof buf), EBADF);
	CHECK_ERR(syscall(SYS_getdents64, fd, bad_addr(), sizeof buf), EFAULT);
	return 0;
}
