// fs_setgid_dir: in a set-group-ID directory new files and directories get
// the directory's group instead of the creator's, and new subdirectories
// inherit S_ISGID; a creator that is not in that group and lacks
// CAP_FSETID has S_ISGID stripped from a new file's requested mode. Needs
// root (the unprivileged half runs as 65534).
//
//go:build ignore

#include "fs_check.h"

static void child(void *arg) {
	(void)arg;
	struct stat st;
	int fd = open(spath("sg/byn"), O_CREAT | O_WRONLY, 02755);
	CHECK(fd >= 0);
	close(fd);
	CHECK_OK(stat(spath("sg/byn"), &st));
	CHECK_EQ(st.st_uid, NOBODY);
	CHECK_EQ(st.st_gid, 4321);
	CHECK_EQ(st.st_mode & 02000, 0); // not a member: stripped
	CHECK_OK(mkdir(spath("sg/ndir"), 0755));
	CHECK_OK(stat(spath("sg/ndir"), &st));
	CHECK_EQ(st.st_gid, 4321);
	CHECK_EQ(st.st_mode & 02000, 02000); // directories still inherit it
	// Outside the set-gid directory: the creator's own group.
	fd = open(spath("plain/byn"), O_CREAT | O_WRONLY, 0644);
	CHECK(fd >= 0);
	close(fd);
	CHECK_OK(stat(spath("plain/byn"), &st));
	CHECK_EQ(st.st_gid, NOBODY);
}

int main(void) {
	if (geteuid() != 0)
		return 0;
	scratch();
	umask(022);
	CHECK_OK(mkdir(spath("sg"), 0777));
	CHECK_OK(chown(spath("sg"), 0, 4321));
	CHECK_OK(chmod(spath("sg"), 02777));
	CHECK_OK(mkdir(spath("plain"), 0777));
	CHECK_OK(chmod(spath("plain"), 0777));

	struct stat st;
	int fd = open(spath("sg/f"), O_CREAT | O_WRONLY, 0644);
	CHECK(fd >= 0);
	close(fd);
	CHECK_OK(stat(spath("sg/f"), &st));
	CHECK_EQ(st.st_gid, 4321);
	CHECK_EQ(st.st_mode & 07777, 0644);
	CHECK_OK(mkdir(spath("sg/sub"), 0755));
	CHECK_OK(stat(spath("sg/sub"), &st));
	CHECK_EQ(st.st_gid, 4321);
	CHECK_EQ(st.st_mode & 07777, 02755);
	// Grandchildren inherit through the new set-gid subdirectory.
	CHECK_OK(mkdir(spath("sg/sub/deeper"), 0700));
	CHECK_OK(stat(spath("sg/sub/deeper"), &st));
	CHECK_EQ(st.st_gid, 4321);
	CHECK_EQ(st.st_mode & 07777, 02700);
	CHECK_OK(symlink("f", spath("sg/l")));
	CHECK_OK(lstat(spath("sg/l"), &st));
	CHECK_EQ(st.st_gid, 4321);
	// Moving a file in keeps its group.
	make_file(spath("outside"), 0644, NULL, 0);
	CHECK_OK(rename(spath("outside"), spath("sg/moved")));
	CHECK_OK(stat(spath("sg/moved"), &st));
	CHECK_EQ(st.st_gid, 0);

	as_nobody(child, NULL);
	return 0;
}
