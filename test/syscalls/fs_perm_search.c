// fs_perm_search: reaching a name needs search (x) permission on every
// directory on the way: as uid 65534, a 0700 root directory blocks stat,
// open and chdir inside it (EACCES) while the directory itself can be
// stat-ed; a 0711 directory allows access to known names but not listing
// it (opendir EACCES); a 0744 directory can be listed but its entries not
// reached. Needs root.
//
//go:build ignore

#include "fs_check.h"

static void child(void *arg) {
	(void)arg;
	struct stat st;
	CHECK_OK(stat(spath("closed"), &st));
	CHECK_ERR(stat(spath("closed/f"), &st), EACCES);
	CHECK_ERR(open(spath("closed/f"), O_RDONLY), EACCES);
	CHECK_ERR(chdir(spath("closed")), EACCES);
	CHECK_ERR(stat(spath("closed/sub/f"), &st), EACCES);
	CHECK_ERR(open(spath("closed/new"), O_CREAT | O_WRONLY, 0644), EACCES);

	// Execute only: names work, listing does not.
	CHECK_OK(stat(spath("xonly/f"), &st));
	int fd = open(spath("xonly/f"), O_RDONLY);
	CHECK(fd >= 0);
	close(fd);
	CHECK_ERR(open(spath("xonly"), O_RDONLY | O_DIRECTORY), EACCES);
	CHECK_OK(chdir(spath("xonly")));
	CHECK_OK(stat("f", &st));
	CHECK_OK(chdir("/"));

	// Read only: listing works, lookups do not.
	DIR *d = opendir(spath("ronly"));
	CHECK(d != NULL);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		n++;
	CHECK_EQ(n, 3); // ., .., f
	closedir(d);
	CHECK_ERR(stat(spath("ronly/f"), &st), EACCES);
	// A symlink through an unsearchable directory fails the same way.
	CHECK_ERR(stat(spath("via"), &st), EACCES);
}

int main(void) {
	if (geteuid() != 0)
		return 0;
	scratch();
	const char *dirs[] = {"closed", "xonly", "ronly"};
	mode_t modes[] = {0700, 0711, 0744};
	for (int i = 0; i < 3; i++) {
		CHECK_OK(mkdir(spath(dirs[i]), 0755));
		char p[64];
		snprintf(p, sizeof p, "%s/f", dirs[i]);
		make_file(spath(p), 0644, NULL, 0);
	}
	CHECK_OK(mkdir(spath("closed/sub"), 0755));
	make_file(spath("closed/sub/f"), 0644, NULL, 0);
	CHECK_OK(symlink("closed/f", spath("via")));
	for (int i = 0; i < 3; i++)
		CHECK_OK(chmod(spath(dirs[i]), modes[i]));
	as_nobody(child, NULL);
	// Root searches anything.
	struct stat st;
	CHECK_OK(stat(spath("closed/sub/f"), &st));
	return 0;
}
