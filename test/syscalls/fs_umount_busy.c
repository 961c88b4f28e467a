// fs_umount_busy: umount2(target, 0) of a mount something still uses fails
// with EBUSY and leaves the mount in place: a file open in it (also one
// unlinked since, an O_PATH descriptor, the mount's root directory), a
// process's working directory or root inside it, or a mount below it.
// Once the user lets go the umount succeeds. MNT_DETACH detaches a busy
// mount lazily: the path shows what lies beneath at once while the open
// file keeps working. Runs as root, in a private namespace of its own
// (mntns_check.h).
//
//go:build ignore

#include "mntns_check.h"

// hold runs fn in a forked child that then waits for a byte on its
// pipe; the caller checks the mount while the child holds it, then lets
// it go and reaps it.
static pid_t hold(void (*fn)(void), int *release) {
	int ready[2], go[2];
	CHECK_OK(pipe(ready));
	CHECK_OK(pipe(go));
	fflush(NULL);
	pid_t pid = XFORK();
	if (pid == 0) {
		close(ready[0]);
		close(go[1]);
		fn();
		sync_post(ready[1], 'r');
		sync_wait(go[0]);
		_exit(0);
	}
	close(ready[1]);
	close(go[0]);
	sync_wait(ready[0]);
	close(ready[0]);
	*release = go[1];
	return pid;
}

static void let_go(pid_t pid, int release) {
	sync_post(release, 'g');
	close(release);
	WAIT_EXIT(pid, 0);
}

static void cd_in(void) { CHECK_OK(chdir(spath("m/d"))); }
static void root_in(void) { CHECK_OK(chroot(spath("m"))); }

static void test(void *arg) {
	(void)arg;
	char m[4096];
	snprintf(m, sizeof m, "%s", spath("m"));
	mount_tmpfs(m);
	make_file(spath("m/f"), 0644, "data", 4);
	CHECK_OK(mkdir(spath("m/d"), 0755));

	// An idle mount unmounts; mount it again for the rest.
	CHECK_OK(umount2(m, 0));
	CHECK(!is_mounted(m));
	mount_tmpfs(m);
	make_file(spath("m/f"), 0644, "data", 4);
	CHECK_OK(mkdir(spath("m/d"), 0755));

	// An open file.
	int fd = open(spath("m/f"), O_RDONLY);
	CHECK(fd >= 0);
	CHECK_ERR(umount2(m, 0), EBUSY);
	CHECK(is_mounted(m));
	CHECK_OK(close(fd));

	// An unlinked open file.
	make_file(spath("m/gone"), 0644, "x", 1);
	fd = open(spath("m/gone"), O_RDWR);
	CHECK(fd >= 0);
	CHECK_OK(unlink(spath("m/gone")));
	CHECK_ERR(umount2(m, 0), EBUSY);
	CHECK_OK(close(fd));

	// An O_PATH descriptor, and the mount's root directory open.
	fd = open(spath("m/d"), O_PATH);
	CHECK(fd >= 0);
	CHECK_ERR(umount2(m, 0), EBUSY);
	CHECK_OK(close(fd));
	fd = open(m, O_RDONLY | O_DIRECTORY);
	CHECK(fd >= 0);
	CHECK_ERR(umount2(m, 0), EBUSY);
	CHECK_OK(close(fd));

	// The caller's own working directory.
	CHECK_OK(chdir(spath("m/d")));
	CHECK_ERR(umount2(m, 0), EBUSY);
	CHECK_OK(chdir("/"));

	// Another process's working directory, and its root.
	int release;
	pid_t pid = hold(cd_in, &release);
	CHECK_ERR(umount2(m, 0), EBUSY);
	let_go(pid, release);
	pid = hold(root_in, &release);
	CHECK_ERR(umount2(m, 0), EBUSY);
	let_go(pid, release);

	// A mount below it, or over it.
	mount_tmpfs(spath("m/d"));
	CHECK_ERR(umount2(m, 0), EBUSY);
	CHECK_OK(umount2(spath("m/d"), 0));
	CHECK(lexists(spath("m/f")));

	// Nothing holds it now.
	CHECK_OK(umount2(m, 0));
	CHECK(!is_mounted(m));
	CHECK(lexists(spath("m/under")));

	// MNT_DETACH takes a busy mount away at once; the open file lives on.
	mount_tmpfs(m);
	make_file(spath("m/f"), 0644, "lazy", 4);
	fd = open(spath("m/f"), O_RDWR);
	CHECK(fd >= 0);
	CHECK_ERR(umount2(m, 0), EBUSY);
	CHECK_OK(umount2(m, MNT_DETACH));
	CHECK(!is_mounted(m));
	CHECK(!lexists(spath("m/f")));
	CHECK(lexists(spath("m/under")));
	char buf[8];
	CHECK_EQ(pread(fd, buf, sizeof buf, 0), 4);
	CHECK_MEM(buf, "lazy", 4);
	CHECK_EQ(pwrite(fd, "more", 4, 4), 4);
	CHECK_OK(close(fd));
	CHECK_ERR(umount2(m, 0), EINVAL);
}

int main(void) {
	if (geteuid() != 0)
		return 0;
	scratch();
	CHECK_OK(mkdir(spath("m"), 0755));
	make_file(spath("m/under"), 0644, NULL, 0);
	in_private_ns(test, NULL);
	return 0;
}
