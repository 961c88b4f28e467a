// fs_chown_suid: changing the owner or group of a regular file clears
// S_ISUID, and S_ISGID when group-execute is set, even when done by root
// (a chown with -1/-1 clears them too); S_ISGID without group-execute is
// kept; directories keep their bits. Needs root.
//
//go:build ignore

#include "fs_check.h"

static mode_t mode_of(const char *p) {
	struct stat st;
	CHECK_OK(stat(p, &st));
	return st.st_mode & 07777;
}

int main(void) {
	if (geteuid() != 0)
		return 0;
	scratch_cd();
	make_file("f", 0755, NULL, 0);
	CHECK_OK(chmod("f", 06755));
	CHECK_EQ(mode_of("f"), 06755);
	CHECK_OK(chown("f", 1000, 1000));
	CHECK_EQ(mode_of("f"), 0755);

	CHECK_OK(chmod("f", 06755));
	CHECK_OK(chown("f", -1, 2000)); // group only
	CHECK_EQ(mode_of("f"), 0755);

	// S_ISGID without group execute is not a set-gid marker: kept.
	CHECK_OK(chmod("f", 06745));
	CHECK_OK(chown("f", 3000, -1));
	CHECK_EQ(mode_of("f"), 02745);

	// fchown and a no-op chown behave the same.
	int fd = open("f", O_RDONLY);
	CHECK(fd >= 0);
	CHECK_OK(fchmod(fd, 04711));
	CHECK_OK(fchown(fd, -1, -1));
	CHECK_EQ(mode_of("f"), 0711);
	close(fd);

	// Not executable: S_ISUID is still cleared.
	make_file("g", 0644, NULL, 0);
	CHECK_OK(chmod("g", 04644));
	CHECK_OK(chown("g", 5, 5));
	CHECK_EQ(mode_of("g"), 0644);

	// Directories keep set-gid and sticky.
	CHECK_OK(mkdir("d", 0755));
	CHECK_OK(chmod("d", 03775));
	CHECK_OK(chown("d", 1000, 1000));
	CHECK_EQ(mode_of("d"), 03775);
	return 0;
}
