// fs_renameat2_noreplace: renameat2(RENAME_NOREPLACE) moves like rename
// when the target is absent and fails with EEXIST (touching nothing) when
// it exists, even as a dangling symlink; NOREPLACE together with EXCHANGE,
// or unknown flags, is EINVAL. flags 0 is plain rename.
//
//go:build ignore

#include "fs_check.h"

int main(void) {
	scratch_cd();
	make_file("a", 0644, "A", 1);
	make_file("b", 0644, "BB", 2);
	CHECK_ERR(renameat2(AT_FDCWD, "a", AT_FDCWD, "b", RENAME_NOREPLACE), EEXIST);
	CHECK_EQ(fsize("a"), 1);
	CHECK_EQ(fsize("b"), 2);
	CHECK_OK(symlink("nowhere", "dangling"));
	CHECK_ERR(renameat2(AT_FDCWD, "a", AT_FDCWD, "dangling", RENAME_NOREPLACE), EEXIST);
	CHECK_OK(mkdir("d", 0755));
	CHECK_ERR(renameat2(AT_FDCWD, "a", AT_FDCWD, "d", RENAME_NOREPLACE), EEXIST);
	CHECK_OK(mkdir("e", 0755));
	CHECK_ERR(renameat2(AT_FDCWD, "e", AT_FDCWD, "d", RENAME_NOREPLACE), EEXIST);

	ino_t i = ino("a");
	CHECK_OK(renameat2(AT_FDCWD, "a", AT_FDCWD, "c", RENAME_NOREPLACE));
	CHECK(!lexists("a"));
	CHECK_EQ(ino("c"), i);
	int d = open("d", O_RDONLY | O_DIRECTORY);
	CHECK(d >= 0);
	CHECK_OK(renameat2(AT_FDCWD, "e", d, "e", RENAME_NOREPLACE));
	CHECK(lexists("d/e"));

	CHECK_ERR(renameat2(AT_FDCWD, "c", AT_FDCWD, "b", RENAME_NOREPLACE | RENAME_EXCHANGE), EINVAL);
	CHECK_ERR(renameat2(AT_FDCWD, "c", AT_FDCWD, "z", opaque(1 << 10)), EINVAL);
	CHECK_ERR(renameat2(AT_FDCWD, "missing", AT_FDCWD, "z", RENAME_NOREPLACE), ENOENT);
	CHECK_OK(renameat2(AT_FDCWD, "c", AT_FDCWD, "b", 0));
	CHECK_EQ(ino("b"), i);
	// The raw syscall with the same flags.
	CHECK_EQ(syscall(SYS_renameat2, AT_FDCWD, "b", AT_FDCWD, "d", RENAME_NOREPLACE), -1);
	CHECK_EQ(errno, EEXIST);
	close(d);
	return 0;
}
