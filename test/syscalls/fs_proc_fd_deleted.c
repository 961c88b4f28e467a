// fs_proc_fd_deleted: /proc/self/fd/N of an open file shows its path; after
// the file is unlinked it shows the old path followed by " (deleted)", and
// stat through the link still reaches the inode (nlink 0); a renamed file
// shows the new name; /proc/self/fdinfo/N reports the offset and flags.
//
//go:build ignore

#include "fs_check.h"

static const char *fdlink(int fd) {
	static char target[4096];
	char link[64];
	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, target, sizeof target - 1);
	if (n < 0)
		FAIL("readlink %s (errno %d %s)", link, errno, errname(errno));
	target[n] = 0;
	return target;
}

int main(void) {
	scratch_cd();
	make_file("f", 0644, "abc", 3);
	int fd = open("f", O_RDWR);
	CHECK(fd >= 0);
	CHECK_EQ(strcmp(fdlink(fd), spath("f")), 0);
	CHECK_OK(rename("f", "g"));
	CHECK_EQ(strcmp(fdlink(fd), spath("g")), 0);

	CHECK_OK(unlink("g"));
	char want[4200];
	snprintf(want, sizeof want, "%s (deleted)", spath("g"));
	CHECK_EQ(strcmp(fdlink(fd), want), 0);
	char link[64];
	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	struct stat st;
	CHECK_OK(stat(link, &st));
	CHECK_EQ(st.st_nlink, 0);
	CHECK_EQ(st.st_size, 3);
	// Reopening the deleted file through the magic link works.
	int again = open(link, O_RDONLY);
	CHECK(again >= 0);
	char buf[4];
	CHECK_EQ(read(again, buf, sizeof buf), 3);
	close(again);

	// A new file with the old name does not change the link.
	make_file("g", 0644, NULL, 0);
	CHECK_EQ(strcmp(fdlink(fd), want), 0);

	// fdinfo: pos and flags (octal).
	CHECK_EQ(lseek(fd, 2, SEEK_SET), 2);
	char info[512], path[64];
	snprintf(path, sizeof path, "/proc/self/fdinfo/%d", fd);
	CHECK(read_text(path, info, sizeof info) > 0);
	CHECK(strstr(info, "pos:\t2\n") != NULL);
	char *fl = strstr(info, "flags:\t");
	CHECK(fl != NULL);
	unsigned long flags = strtoul(fl + 7, NULL, 8);
	CHECK_EQ(flags & O_ACCMODE, O_RDWR);
	close(fd);
	return 0;
}
