// fs_statfs: statfs and fstatfs report the same file system for a
// directory, a file in it and an fd of either (f_type, f_fsid, f_bsize);
// the counters are consistent (bavail <= bfree <= blocks, ffree <= files,
// bsize > 0, namelen >= 255 on ext4 and tmpfs); errors ENOENT, EBADF.
//
//go:build ignore

#include "fs_check.h"
#include <sys/statfs.h>
#include <sys/statvfs.h>

static void same(struct statfs *a, struct statfs *b) {
	CHECK_EQ(a->f_type, b->f_type);
	CHECK_EQ(a->f_bsize, b->f_bsize);
	CHECK_EQ(a->f_fsid.__val[0], b->f_fsid.__val[0]);
	CHECK_EQ(a->f_fsid.__val[1], b->f_fsid.__val[1]);
	CHECK_EQ(a->f_blocks, b->f_blocks);
	CHECK_EQ(a->f_namelen, b->f_namelen);
}

int main(void) {
	scratch_cd();
	make_file("f", 0644, "x", 1);
	struct statfs dir, file, fdd, ffd;
	CHECK_OK(statfs(".", &dir));
	CHECK_OK(statfs("f", &file));
	int d = open(".", O_RDONLY | O_DIRECTORY);
	int f = open("f", O_RDONLY);
	int p = open("f", O_PATH);
	CHECK(d >= 0 && f >= 0 && p >= 0);
	CHECK_OK(fstatfs(d, &fdd));
	CHECK_OK(fstatfs(f, &ffd));
	same(&dir, &file);
	same(&dir, &fdd);
	same(&dir, &ffd);
	CHECK_OK(fstatfs(p, &ffd)); // O_PATH is allowed
	same(&dir, &ffd);

	CHECK(dir.f_bsize > 0);
	CHECK(dir.f_bfree <= dir.f_blocks);
	CHECK(dir.f_bavail <= dir.f_bfree);
	CHECK(dir.f_ffree <= dir.f_files);
	CHECK(dir.f_namelen >= 255);
	CHECK(dir.f_frsize > 0);

	// statvfs is the same data in another shape.
	struct statvfs v;
	CHECK_OK(statvfs(".", &v));
	CHECK_EQ(v.f_bsize, dir.f_bsize);
	CHECK_EQ(v.f_namemax, dir.f_namelen);
	CHECK_EQ(v.f_flag & ST_RDONLY, 0); // the scratch is writable

	// A symlink is followed.
	CHECK_OK(symlink("f", "l"));
	CHECK_OK(statfs("l", &file));
	same(&dir, &file);
	// A different file system (/proc) reports another type.
	struct statfs proc;
	CHECK_OK(statfs("/proc", &proc));
	CHECK(proc.f_type != dir.f_type);

	CHECK_ERR(statfs("missing", &file), ENOENT);
	CHECK_ERR(statfs("f/x", &file), ENOTDIR);
	CHECK_ERR(fstatfs(1000, &file), EBADF);
	CHECK_ERR(statfs(".", bad_addr()), EFAULT);
	close(d);
	close(f);
	close(p);
	return 0;
}
