// fs_chroot: a root process can chroot into a directory: afterwards "/"
// is that directory, ".." at the new root stays there, absolute symlinks
// resolve inside it, files outside are unreachable by path (but a directory
// fd opened before still works); an unprivileged process gets EPERM; a
// non-directory is ENOTDIR. The chroot happens in a child. Needs root.
//
//go:build ignore

#include "fs_check.h"

static void child(void *arg) {
	(void)arg;
	CHECK_ERR(chroot(spath("jail")), EPERM);
}

int main(void) {
	if (geteuid() != 0)
		return 0;
	scratch();
	CHECK_OK(mkdir(spath("jail"), 0755));
	CHECK_OK(mkdir(spath("jail/sub"), 0755));
	make_file(spath("jail/inside"), 0644, "in", 2);
	make_file(spath("outside"), 0644, NULL, 0);
	CHECK_OK(symlink("/inside", spath("jail/sub/abs")));
	int outer = open(scratch(), O_RDONLY | O_DIRECTORY);
	CHECK(outer >= 0);
	fflush(NULL);
	pid_t pid = XFORK();
	if (pid == 0) {
		alarm(10);
		CHECK_OK(chroot(spath("jail")));
		CHECK_OK(chdir("/"));
		struct stat root, up, st;
		CHECK_OK(stat("/", &root));
		CHECK_OK(stat("/..", &up));
		CHECK(root.st_ino == up.st_ino && root.st_dev == up.st_dev);
		CHECK_OK(stat("/../../inside", &st));
		CHECK_OK(stat("/sub/abs", &st)); // "/inside" inside the jail
		char buf[8];
		CHECK_EQ(slurp("/sub/abs", buf, sizeof buf), 2);
		CHECK_ERR(stat("/outside", &st), ENOENT);
		char cwd[256];
		CHECK(getcwd(cwd, sizeof cwd) != NULL);
		CHECK_EQ(strcmp(cwd, "/"), 0);
		// A descriptor from before still reaches outside.
		CHECK_OK(fstatat(outer, "outside", &st, 0));
		// Writes inside the jail are visible outside.
		make_file("/made", 0644, "m", 1);
		_exit(0);
	}
	WAIT_EXIT(pid, 0);
	CHECK(lexists(spath("jail/made")));
	CHECK_ERR(chroot(spath("outside")), ENOTDIR);
	CHECK_ERR(chroot(spath("missing")), ENOENT);
	as_nobody(child, NULL);
	close(outer);
	return 0;
}
