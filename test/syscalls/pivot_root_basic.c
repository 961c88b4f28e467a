// pivot_root_basic: pivot_root(new_root, put_old) makes the mount at
// new_root the root and puts the old root at put_old: "/" shows the new
// root's files, the old tree (and its /proc) is reachable under put_old,
// where the new root's old mount point is an ordinary directory again; a
// working directory at the old root moves to the new one; the new root's
// ".." is itself; unmounting put_old leaves an empty directory. Runs as
// root, in a private namespace of its own (mntns_check.h).
//
//go:build ignore

#include "mntns_check.h"

static int count_entries(const char *path) {
	DIR *d = opendir(path);
	CHECK(d != NULL);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static void test(void *arg) {
	(void)arg;
	char old_scratch[4096];
	mount_tmpfs(spath("new"));
	CHECK_OK(mkdir(spath("new/old"), 0755));
	make_file(spath("new/marker"), 0644, "m", 1);
	struct stat root_before, st;
	CHECK_OK(stat("/", &root_before));
	CHECK_OK(chdir("/"));

	CHECK_OK(syscall(SYS_pivot_root, spath("new"), spath("new/old")));

	// The working directory was the old root: it is the new one now.
	char cwd[4096];
	CHECK(getcwd(cwd, sizeof cwd) != NULL);
	CHECK_EQ(strcmp(cwd, "/"), 0);
	CHECK(lexists("marker"));
	CHECK(lexists("/marker"));
	struct stat root, up;
	CHECK_OK(stat("/", &root));
	CHECK_OK(stat("/..", &up));
	CHECK(root.st_ino == up.st_ino && root.st_dev == up.st_dev);
	CHECK(root.st_dev != root_before.st_dev);
	// The old root is at /old, with the scratch directory in it, where
	// "new" is an empty directory again.
	CHECK_OK(stat("/old", &st));
	CHECK(st.st_dev == root_before.st_dev && st.st_ino == root_before.st_ino);
	snprintf(old_scratch, sizeof old_scratch, "/old%s", scratch());
	char p[4200];
	snprintf(p, sizeof p, "%s/new", old_scratch);
	CHECK(lexists(p));
	CHECK_EQ(count_entries(p), 0);
	snprintf(p, sizeof p, "%s/plain", old_scratch);
	CHECK(lexists(p));
	// The mount table, through the old root's /proc: the root is the
	// tmpfs, the old root is at /old.
	char line[4096];
	CHECK(mountinfo_line_in("/old/proc", 0, "/", line, sizeof line));
	CHECK(strstr(line, " - tmpfs ") != NULL);
	CHECK(mountinfo_line_in("/old/proc", 0, "/old", line, sizeof line));
	CHECK(!mountinfo_line_in("/old/proc", 0, spath("new"), line, sizeof line));

	CHECK_OK(umount2("/old", MNT_DETACH));
	CHECK_EQ(count_entries("/old"), 0);
	CHECK_EQ(count_entries("/"), 2); // marker, old
}

int main(void) {
	if (geteuid() != 0)
		return 0;
	scratch();
	CHECK_OK(mkdir(spath("new"), 0755));
	make_file(spath("plain"), 0644, NULL, 0);
	in_private_ns(test, NULL);
	return 0;
}
