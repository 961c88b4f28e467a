// fs_chmod_perm: only the owner (or root) may chmod (EPERM otherwise); an
// owner who is not in the file's group gets S_ISGID silently cleared by
// chmod, while S_ISUID and the sticky bit are kept; root keeps S_ISGID.
// Runs the unprivileged half as uid/gid 65534; needs root.
//
//go:build ignore

#include "fs_check.h"

static void child(void *arg) {
	(void)arg;
	struct stat st;
	// Owned by nobody, group 0 (nobody is not a member).
	CHECK_OK(chmod(spath("mine"), 02755));
	CHECK_OK(stat(spath("mine"), &st));
	CHECK_EQ(st.st_mode & 07777, 0755);
	CHECK_OK(chmod(spath("mine"), 04755));
	CHECK_OK(stat(spath("mine"), &st));
	CHECK_EQ(st.st_mode & 07777, 04755);
	// Owned by nobody, group nobody: S_ISGID stays.
	CHECK_OK(chmod(spath("mygroup"), 02750));
	CHECK_OK(stat(spath("mygroup"), &st));
	CHECK_EQ(st.st_mode & 07777, 02750);
	// Directories the same way.
	CHECK_OK(chmod(spath("mydir"), 03777));
	CHECK_OK(stat(spath("mydir"), &st));
	CHECK_EQ(st.st_mode & 07777, 01777);
	// Not the owner.
	CHECK_ERR(chmod(spath("roots"), 0777), EPERM);
	int fd = open(spath("roots"), O_RDONLY);
	CHECK(fd >= 0);
	CHECK_ERR(fchmod(fd, 0777), EPERM);
	close(fd);
	CHECK_ERR(chmod(spath("missing"), 0777), ENOENT);
}

int main(void) {
	if (geteuid() != 0)
		return 0; // needs root to set up files owned by someone else
	scratch();
	make_file(spath("mine"), 0644, NULL, 0);
	CHECK_OK(chown(spath("mine"), NOBODY, 0));
	make_file(spath("mygroup"), 0644, NULL, 0);
	CHECK_OK(chown(spath("mygroup"), NOBODY, NOBODY));
	CHECK_OK(mkdir(spath("mydir"), 0755));
	CHECK_OK(chown(spath("mydir"), NOBODY, 0));
	make_file(spath("roots"), 0644, NULL, 0);
	as_nobody(child, NULL);

	struct stat st;
	CHECK_OK(stat(spath("roots"), &st));
	CHECK_EQ(st.st_mode & 07777, 0644);
	// Root keeps S_ISGID on a file of a group it is not in.
	CHECK_OK(chmod(spath("mine"), 02755));
	CHECK_OK(stat(spath("mine"), &st));
	CHECK_EQ(st.st_mode & 07777, 02755);
	return 0;
}
