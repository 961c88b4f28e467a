// fs_getdents_rewind: a directory stream opened before entries are added
// sees them after rewinddir (lseek to 0); entries removed before the
// rewind are gone; seekdir/telldir return to a saved position; every
// entry of a 300-entry directory is listed exactly once across many
// getdents calls with a small buffer.
//
//go:build ignore

#include "fs_check.h"

#define N 300

static int count(DIR *d, char *seen) {
	int n = 0;
	struct dirent *e;
	if (seen)
		memset(seen, 0, N);
	errno = 0;
	while ((e = readdir(d)) != NULL) {
		int i;
		if (sscanf(e->d_name, "e%d", &i) == 1 && i >= 0 && i < N) {
			if (seen) {
				if (seen[i])
					FAIL("entry %s listed twice", e->d_name);
				seen[i] = 1;
			}
			n++;
		}
	}
	CHECK_EQ(errno, 0);
	return n;
}

int main(void) {
	scratch_cd();
	DIR *d = opendir(".");
	CHECK(d != NULL);
	CHECK_EQ(count(d, NULL), 0);
	char name[16];
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof name, "e%d", i);
		make_file(name, 0644, NULL, 0);
	}
	rewinddir(d);
	char seen[N];
	CHECK_EQ(count(d, seen), N);

	for (int i = 0; i < N; i += 2) {
		snprintf(name, sizeof name, "e%d", i);
		CHECK_OK(unlink(name));
	}
	rewinddir(d);
	CHECK_EQ(count(d, seen), N / 2);
	for (int i = 0; i < N; i++)
		CHECK_EQ(seen[i], i % 2);

	// telldir/seekdir: resume after the first few entries.
	rewinddir(d);
	for (int i = 0; i < 5; i++)
		CHECK(readdir(d) != NULL);
	long pos = telldir(d);
	struct dirent *e = readdir(d);
	CHECK(e != NULL);
	char after[256];
	snprintf(after, sizeof after, "%s", e->d_name);
	seekdir(d, pos);
	e = readdir(d);
	CHECK(e != NULL);
	CHECK_EQ(strcmp(e->d_name, after), 0);
	closedir(d);

	// Small raw buffers: each entry exactly once (plus . and ..).
	int fd = open(".", O_RDONLY | O_DIRECTORY);
	CHECK(fd >= 0);
	char buf[64];
	int total = 0;
	long n;
	while ((n = syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0)
		for (long off = 0; off < n; off += *(unsigned short *)(buf + off + 16))
			total++;
	CHECK_EQ(n, 0);
	CHECK_EQ(total, N / 2 + 2);
	CHECK_EQ(lseek(fd, 0, SEEK_SET), 0);
	CHECK(syscall(SYS_getdents64, fd, buf, sizeof buf) > 0);
	close(fd);
	return 0;
}
