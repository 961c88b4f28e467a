// fs_perm_write_dir: changing a directory's entries needs write and search
// permission on it: as uid 65534, in a root 0755 directory create, mkdir,
// symlink, link, unlink, rename in or out and rmdir are all EACCES, while
// existing files stay writable according to their own mode; in a 0777
// directory they work. Needs root.
//
//go:build ignore

#include "fs_check.h"

static void child(void *arg) {
	(void)arg;
	CHECK_ERR(open(spath("ro/new"), O_CREAT | O_WRONLY, 0644), EACCES);
	CHECK_ERR(mkdir(spath("ro/newdir"), 0755), EACCES);
	CHECK_ERR(symlink("x", spath("ro/sl")), EACCES);
	CHECK_ERR(mkfifo(spath("ro/fifo"), 0644), EACCES);
	CHECK_ERR(link(spath("rw/mine"), spath("ro/hard")), EACCES);
	CHECK_ERR(unlink(spath("ro/writable")), EACCES);
	CHECK_ERR(rmdir(spath("ro/sub")), EACCES);
	CHECK_ERR(rename(spath("ro/writable"), spath("rw/moved")), EACCES);
	CHECK_ERR(rename(spath("rw/mine"), spath("ro/in")), EACCES);
	CHECK_ERR(rename(spath("ro/writable"), spath("ro/w2")), EACCES);
	// The file's own mode still allows writing it.
	int fd = open(spath("ro/writable"), O_WRONLY | O_TRUNC);
	CHECK(fd >= 0);
	CHECK_EQ(write(fd, "ok", 2), 2);
	close(fd);
	// In the writable directory everything works.
	fd = open(spath("rw/new"), O_CREAT | O_WRONLY, 0644);
	CHECK(fd >= 0);
	close(fd);
	CHECK_OK(mkdir(spath("rw/d"), 0755));
	CHECK_OK(rename(spath("rw/new"), spath("rw/d/new")));
	CHECK_OK(unlink(spath("rw/d/new")));
	CHECK_OK(rmdir(spath("rw/d")));
	// Write without search (0666 dir): still EACCES.
	CHECK_ERR(open(spath("wonly/x"), O_CREAT | O_WRONLY, 0644), EACCES);
}

int main(void) {
	if (geteuid() != 0)
		return 0;
	scratch();
	CHECK_OK(mkdir(spath("ro"), 0755));
	CHECK_OK(mkdir(spath("ro/sub"), 0777));
	make_file(spath("ro/writable"), 0666, NULL, 0);
	CHECK_OK(mkdir(spath("rw"), 0755));
	CHECK_OK(chmod(spath("rw"), 0777));
	make_file(spath("rw/mine"), 0644, NULL, 0);
	CHECK_OK(chown(spath("rw/mine"), NOBODY, NOBODY));
	CHECK_OK(mkdir(spath("wonly"), 0755));
	CHECK_OK(chmod(spath("wonly"), 0666));
	as_nobody(child, NULL);
	CHECK_EQ(fsize(spath("ro/writable")), 2);
	CHECK(lexists(spath("ro/sub")));
	CHECK(lexists(spath("rw/mine")));
	return 0;
}
