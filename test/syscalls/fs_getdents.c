// fs_getdents: getdents64 on a new directory lists exactly ".", ".." and
// the entries created in it, with d_ino equal to lstat's st_ino and d_type
// DT_REG/DT_DIR/DT_LNK/DT_FIFO/DT_SOCK (ext4 and tmpfs fill d_type;
// DT_UNKNOWN would be legal elsewhere and is accepted); removed entries
// disappear; a tiny buffer is EINVAL; a file fd ENOTDIR.
//
//go:build ignore

#include "fs_check.h"
#include <sys/socket.h>
#include <sys/un.h>

struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

static const char *names[] = {"reg", "dir", "lnk", "fifo", "sock"};
static const int types[] = {DT_REG, DT_DIR, DT_LNK, DT_FIFO, DT_SOCK};

// scan lists the scratch dir and returns a bit mask of names[] found.
static int scan(int expect_total) {
	int fd = open(".", O_RDONLY | O_DIRECTORY);
	CHECK(fd >= 0);
	char buf[4096];
	int mask = 0, total = 0;
	long n;
	while ((n = syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0) {
		for (long off = 0; off < n;) {
			struct linux_dirent64 *d = (void *)(buf + off);
			off += d->d_reclen;
			total++;
			struct stat st;
			CHECK_OK(lstat(d->d_name, &st));
			CHECK_EQ(d->d_ino, st.st_ino);
			if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, "..")) {
				CHECK(d->d_type == DT_DIR || d->d_type == DT_UNKNOWN);
				continue;
			}
			int found = 0;
			for (int i = 0; i < 5; i++)
				if (!strcmp(d->d_name, names[i])) {
					found = 1;
					mask |= 1 << i;
					CHECK(d->d_type == types[i] || d->d_type == DT_UNKNOWN);
				}
			if (!found)
				FAIL("unexpected entry %s", d->d_name);
		}
	}
	CHECK_EQ(n, 0);
	CHECK_EQ(total, expect_total);
	close(fd);
	return mask;
}

int main(void) {
	scratch_cd();
	CHECK_EQ(scan(2), 0);
	make_file("reg", 0644, NULL, 0);
	CHECK_OK(mkdir("dir", 0755));
	CHECK_OK(symlink("reg", "lnk"));
	CHECK_OK(mkfifo("fifo", 0644));
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un a = {.sun_family = AF_UNIX, .sun_path = "sock"};
	CHECK_OK(bind(s, (struct sockaddr *)&a, sizeof a));
	close(s);
	CHECK_EQ(scan(7), 0x1f);

	CHECK_OK(unlink("lnk"));
	CHECK_OK(rmdir("dir"));
	CHECK_EQ(scan(5), 0x19);

	int fd = open(".", O_RDONLY | O_DIRECTORY);
	char small[8];
	CHECK_ERR(syscall(SYS_getdents64, fd, small, sizeof small), EINVAL);
	close(fd);
	fd = open("reg", O_RDONLY);
	char buf[256];
	CHECK_ERR(syscall(SYS_getdents64, fd, buf, sizeof buf), ENOTDIR);
	close(fd);
	return 0;
}
