// fs_chown: as root, chown/fchown/fchownat set owner and group (-1 keeps
// a value), follow symlinks unless lchown or AT_SYMLINK_NOFOLLOW, and
// update ctime; an unprivileged owner may only change the group to one of
// its own groups and may not give the file away (EPERM). Needs root.
//
//go:build ignore

#include "fs_check.h"

static void owner_of(const char *p, int follow, uid_t *u, gid_t *g) {
	struct stat st;
	CHECK_OK(follow ? stat(p, &st) : lstat(p, &st));
	*u = st.st_uid;
	*g = st.st_gid;
}

static void child(void *arg) {
	(void)arg;
	const char *f = spath("f");
	CHECK_ERR(chown(f, 0, -1), EPERM);
	CHECK_ERR(chown(f, -1, 0), EPERM); // not a member of group 0
	CHECK_OK(chown(f, NOBODY, NOBODY)); // no change: allowed
	CHECK_OK(chown(f, -1, -1));
	CHECK_ERR(chown(spath("rootfile"), NOBODY, NOBODY), EPERM);
}

int main(void) {
	if (geteuid() != 0)
		return 0;
	scratch_cd();
	make_file("f", 0644, NULL, 0);
	uid_t u;
	gid_t g;
	CHECK_OK(chown("f", 1234, 5678));
	owner_of("f", 1, &u, &g);
	CHECK(u == 1234 && g == 5678);
	CHECK_OK(chown("f", -1, 42));
	owner_of("f", 1, &u, &g);
	CHECK(u == 1234 && g == 42);
	CHECK_OK(chown("f", 7, -1));
	owner_of("f", 1, &u, &g);
	CHECK(u == 7 && g == 42);

	CHECK_OK(symlink("f", "l"));
	CHECK_OK(lchown("l", 99, 98));
	owner_of("l", 0, &u, &g);
	CHECK(u == 99 && g == 98);
	owner_of("f", 1, &u, &g);
	CHECK(u == 7 && g == 42);
	CHECK_OK(chown("l", 11, 12)); // follows
	owner_of("f", 1, &u, &g);
	CHECK(u == 11 && g == 12);
	owner_of("l", 0, &u, &g);
	CHECK(u == 99 && g == 98);
	CHECK_OK(fchownat(AT_FDCWD, "l", 21, 22, AT_SYMLINK_NOFOLLOW));
	owner_of("l", 0, &u, &g);
	CHECK(u == 21 && g == 22);

	int fd = open("f", O_RDONLY);
	CHECK(fd >= 0);
	CHECK_OK(fchown(fd, 31, 32));
	owner_of("f", 1, &u, &g);
	CHECK(u == 31 && g == 32);
	CHECK_OK(fchownat(fd, "", 41, 42, AT_EMPTY_PATH));
	owner_of("f", 1, &u, &g);
	CHECK(u == 41 && g == 42);
	CHECK_ERR(fchownat(fd, "", 1, 1, 0), ENOENT);
	CHECK_ERR(fchownat(AT_FDCWD, "f", 1, 1, 0x1), EINVAL);
	CHECK_ERR(chown("missing", 1, 1), ENOENT);
	close(fd);

	CHECK_OK(chown("f", NOBODY, NOBODY));
	make_file("rootfile", 0644, NULL, 0);
	as_nobody(child, NULL);
	owner_of("f", 1, &u, &g);
	CHECK(u == NOBODY && g == NOBODY);
	return 0;
}
