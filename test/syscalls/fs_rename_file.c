// fs_rename_file: rename of a file over another file atomically replaces
// it: the new name has the moved inode (same number, same contents), the
// old name is gone, and a descriptor of the replaced file still reads its
// old data (its nlink is now 0). Renames across directories work too.
//
//go:build ignore

#include "fs_check.h"

int main(void) {
	scratch_cd();
	make_file("a", 0600, "AAAA", 4);
	make_file("b", 0644, "BB", 2);
	ino_t ia = ino("a"), ib = ino("b");
	CHECK(ia != ib);
	int ob = open("b", O_RDONLY);
	CHECK(ob >= 0);

	CHECK_OK(rename("a", "b"));
	CHECK(!lexists("a"));
	CHECK_EQ(ino("b"), ia);
	struct stat st;
	CHECK_OK(stat("b", &st));
	CHECK_EQ(st.st_mode & 07777, 0600);
	CHECK_EQ(st.st_nlink, 1);
	char buf[8];
	CHECK_EQ(slurp("b", buf, sizeof buf), 4);
	CHECK_MEM(buf, "AAAA", 4);

	CHECK_OK(fstat(ob, &st));
	CHECK_EQ(st.st_ino, ib);
	CHECK_EQ(st.st_nlink, 0);
	CHECK_EQ(read(ob, buf, sizeof buf), 2);
	CHECK_MEM(buf, "BB", 2);
	close(ob);

	// Into another directory, and onto a new name there.
	CHECK_OK(mkdir("d", 0755));
	CHECK_OK(rename("b", "d/c"));
	CHECK_EQ(ino("d/c"), ia);
	CHECK(!lexists("b"));

	// Over a hard link of another inode: only that name is replaced.
	make_file("x", 0644, "X", 1);
	CHECK_OK(link("x", "x2"));
	CHECK_OK(rename("d/c", "x2"));
	CHECK_OK(stat("x", &st));
	CHECK_EQ(st.st_nlink, 1);
	CHECK_EQ(ino("x2"), ia);

	// A symlink is renamed as itself; renaming over a symlink replaces
	// the link, not its target.
	CHECK_OK(symlink("x", "l"));
	CHECK_OK(rename("l", "l2"));
	CHECK_OK(lstat("l2", &st));
	CHECK(S_ISLNK(st.st_mode));
	CHECK_OK(rename("x2", "l2"));
	CHECK_OK(lstat("l2", &st));
	CHECK(S_ISREG(st.st_mode));
	CHECK_EQ(slurp("x", buf, sizeof buf), 1);
	CHECK_MEM(buf, "X", 1);
	return 0;
}
