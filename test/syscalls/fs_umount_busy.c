// fs_umount_busy: umount2(target, 0) of a mount something still uses fails
// with EBUSY and leaves the mount in place: a file open in it (also one
// unlinked since, an O_PATH descriptor, the mount's root directory), a
// process's working directory or root inside it, a memory mapping of a
// file in it whose descriptor is closed (also once the file is unlinked,
// in the caller or another process), a thread's working directory after
// it unshared its file-system context (CLONE_FS), a descriptor only a
// thread's unshared table (CLONE_FILES) holds, or a mount below it. Once
// the user lets go the umount succeeds. MNT_DETACH detaches a busy mount
// lazily: the path shows what lies beneath at once while the open file
// keeps working. Runs as root, in a private namespace of its own
// (mntns_check.h).
//
//go:build ignore

#include "mntns_check.h"
#include <pthread.h>
#include <sys/mman.h>

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

// map_in maps a file of the mount, closes the descriptor and unlinks the
// file: only the mapping is left holding it.
static void map_in(void) {
	make_file(spath("m/child"), 0644, "c", 1);
	int fd = open(spath("m/child"), O_RDONLY);
	CHECK(fd >= 0);
	CHECK(mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0) != MAP_FAILED);
	CHECK_OK(close(fd));
	CHECK_OK(unlink(spath("m/child")));
}

// A thread of the caller holds the mount through what it alone has: its
// own file-system context or descriptor table. Before it exits it lets
// go (Linux releases an exiting thread's files and fs_struct after it
// wakes pthread_join, so the caller could see the mount busy a moment
// longer otherwise).
struct held {
	void (*fn)(void), (*undo)(void);
	int ready[2], go[2];
	pthread_t th;
};

static void *held_thread(void *arg) {
	struct held *h = arg;
	h->fn();
	sync_post(h->ready[1], 'r');
	sync_wait(h->go[0]);
	h->undo();
	return NULL;
}

static void hold_thread(struct held *h, void (*fn)(void), void (*undo)(void)) {
	h->fn = fn;
	h->undo = undo;
	CHECK_OK(pipe(h->ready));
	CHECK_OK(pipe(h->go));
	CHECK_EQ(pthread_create(&h->th, NULL, held_thread, h), 0);
	sync_wait(h->ready[0]);
}

static void let_go_thread(struct held *h) {
	sync_post(h->go[1], 'g');
	CHECK_EQ(pthread_join(h->th, NULL), 0);
	for (int i = 0; i < 2; i++) {
		close(h->ready[i]);
		close(h->go[i]);
	}
}

static void thread_cd_in(void) {
	CHECK_OK(unshare(CLONE_FS));
	CHECK_OK(chdir(spath("m/d")));
}
static void thread_cd_out(void) { CHECK_OK(chdir("/")); }

static int thread_fd = -1;
static void thread_open_in(void) {
	CHECK_OK(unshare(CLONE_FILES));
	thread_fd = open(spath("m/f"), O_RDONLY);
	CHECK(thread_fd >= 0);
}
static void thread_close(void) { CHECK_OK(close(thread_fd)); }

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

	// A mapping of a file whose descriptor is closed: shared, and
	// private of a file unlinked since.
	fd = open(spath("m/f"), O_RDWR);
	CHECK(fd >= 0);
	char *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(shared != MAP_FAILED);
	CHECK_OK(close(fd));
	CHECK_ERR(umount2(m, 0), EBUSY);
	CHECK_MEM(shared, "data", 4);
	CHECK_OK(munmap(shared, 4096));
	make_file(spath("m/mapped"), 0644, "map", 3);
	fd = open(spath("m/mapped"), O_RDONLY);
	CHECK(fd >= 0);
	char *private = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
	CHECK(private != MAP_FAILED);
	CHECK_OK(close(fd));
	CHECK_OK(unlink(spath("m/mapped")));
	CHECK_ERR(umount2(m, 0), EBUSY);
	CHECK_MEM(private, "map", 3);
	CHECK_OK(munmap(private, 4096));
	// The same in another process.
	pid = hold(map_in, &release);
	CHECK_ERR(umount2(m, 0), EBUSY);
	let_go(pid, release);

	// A thread's own working directory, and a descriptor in a thread's
	// own table: the caller's thread holds neither.
	struct held h;
	hold_thread(&h, thread_cd_in, thread_cd_out);
	CHECK_ERR(umount2(m, 0), EBUSY);
	let_go_thread(&h);
	hold_thread(&h, thread_open_in, thread_close);
	CHECK(fcntl(thread_fd, F_GETFD) < 0 && errno == EBADF);
	CHECK_ERR(umount2(m, 0), EBUSY);
	let_go_thread(&h);

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
