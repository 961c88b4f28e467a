// sysv_shm: System V shared memory between processes. shmget(IPC_PRIVATE)
// makes a segment that IPC_STAT describes (size, owner, creator pid, no
// attaches, ctime set); shmat maps it shared at a page-aligned address
// (rounded up to whole pages), fork inherits the attach, a second attach
// sees the same bytes, exit and exec detach (shm_nattch counts them, and
// shm_lpid names the last process to attach or detach); a partial munmap
// splits an attach into two counted fragments that shmdt removes together;
// SHM_RDONLY maps read-only for good; a fixed address must be page aligned
// unless SHM_RND, and may not overlap a mapping unless SHM_REMAP; IPC_RMID
// of an attached segment marks it (SHM_DEST, key gone) until the last
// detach destroys it. /proc/sysvipc/shm lists segments.
//
//go:build ignore

#include "task_check.h"
#include <sys/ipc.h>
#include <sys/shm.h>
#include <time.h>

#define PAGE 4096

static struct shmid_ds stat_of(int id) {
	struct shmid_ds ds;
	memset(&ds, 0xa5, sizeof ds);
	CHECK_EQ(shmctl(id, IPC_STAT, &ds), 0);
	return ds;
}

static long nattch(int id) { return (long)stat_of(id).shm_nattch; }

int main(int argc, char **argv) {
	if (argc > 4 && strcmp(argv[2], "hold") == 0) {
		// Exec'd by a child that had the segment attached: report and
		// wait to be released.
		int fd = atoi(argv[3]);
		char c = 'x';
		CHECK_EQ(write(fd, &c, 1), 1);
		CHECK_EQ(read(atoi(argv[4]), &c, 1), 1);
		return 0;
	}
	time_t now = time(NULL);
	int id = shmget(IPC_PRIVATE, 10000, IPC_CREAT | 0600);
	CHECK(id >= 0);
	struct shmid_ds ds = stat_of(id);
	CHECK_EQ(ds.shm_segsz, 10000);
	CHECK_EQ(ds.shm_nattch, 0);
	CHECK_EQ(ds.shm_cpid, getpid());
	CHECK_EQ(ds.shm_lpid, 0);
	CHECK_EQ(ds.shm_atime, 0);
	CHECK_EQ(ds.shm_dtime, 0);
	CHECK(ds.shm_ctime >= now - 5 && ds.shm_ctime <= now + 5);
	CHECK_EQ(ds.shm_perm.__key, IPC_PRIVATE);
	CHECK_EQ(ds.shm_perm.mode, 0600);
	CHECK_EQ(ds.shm_perm.uid, geteuid());
	CHECK_EQ(ds.shm_perm.cuid, geteuid());
	CHECK_EQ(ds.shm_perm.gid, getegid());
	CHECK_EQ(ds.shm_perm.cgid, getegid());

	char *p = shmat(id, NULL, 0);
	CHECK(p != (void *)-1);
	CHECK_EQ((uintptr_t)p % PAGE, 0);
	ds = stat_of(id);
	CHECK_EQ(ds.shm_nattch, 1);
	CHECK_EQ(ds.shm_lpid, getpid());
	CHECK(ds.shm_atime >= now - 5);
	// A new segment is zeroed; the whole last page is usable.
	for (int i = 0; i < 3 * PAGE; i++)
		CHECK_EQ(p[i], 0);
	memset(p, 'p', 10000);
	p[3 * PAGE - 1] = 'z';

	// fork: the child has the attach too, and writes through it.
	int up[2], down[2];
	CHECK_OK(pipe(up));
	CHECK_OK(pipe(down));
	pid_t c = XFORK();
	if (c == 0) {
		CHECK_EQ(nattch(id), 2);
		CHECK_EQ(p[9999], 'p');
		CHECK_EQ(p[3 * PAGE - 1], 'z');
		p[1] = 'C';
		char *q = shmat(id, NULL, 0);
		CHECK(q != (void *)-1 && q != p);
		CHECK_EQ(q[1], 'C');
		q[2] = 'Q';
		CHECK_EQ(p[2], 'Q');
		CHECK_EQ(nattch(id), 3);
		CHECK_OK(shmdt(q));
		CHECK_EQ(nattch(id), 2);
		CHECK_EQ(stat_of(id).shm_lpid, getpid());
		_exit(0);
	}
	WAIT_EXIT(c, 0);
	CHECK_EQ(p[1], 'C');
	CHECK_EQ(p[2], 'Q');
	ds = stat_of(id);
	CHECK_EQ(ds.shm_nattch, 1); // the child's exit detached
	CHECK_EQ(ds.shm_lpid, c);
	CHECK(ds.shm_dtime >= now - 5);

	// exec detaches.
	c = XFORK();
	if (c == 0) {
		char w[16], rd[16];
		snprintf(w, sizeof w, "%d", up[1]);
		snprintf(rd, sizeof rd, "%d", down[0]);
		execl("/proc/self/exe", argv[0], argv[1], "hold", w, rd, (char *)NULL);
		_exit(99);
	}
	char b;
	CHECK_EQ(read(up[0], &b, 1), 1);
	CHECK_EQ(nattch(id), 1);
	CHECK_EQ(write(down[1], &b, 1), 1);
	WAIT_EXIT(c, 0);

	// A partial munmap leaves two fragments, each counted; shmdt at the
	// attach address removes both.
	char *r = shmat(id, NULL, 0);
	CHECK(r != (void *)-1);
	CHECK_EQ(nattch(id), 2);
	CHECK_OK(munmap(r + PAGE, PAGE));
	CHECK_EQ(nattch(id), 3);
	CHECK_ERR(shmdt(r + 2 * PAGE), EINVAL); // not where an attach starts
	CHECK_ERR(shmdt(r + 1), EINVAL);
	CHECK_OK(shmdt(r));
	CHECK_EQ(nattch(id), 1);
	CHECK_ERR(shmdt(r), EINVAL);

	// SHM_RDONLY: readable, never writable.
	r = shmat(id, NULL, SHM_RDONLY);
	CHECK(r != (void *)-1);
	CHECK_EQ(r[1], 'C');
	CHECK_ERR(mprotect(r, PAGE, PROT_READ | PROT_WRITE), EACCES);
	c = XFORK();
	if (c == 0) {
		no_core();
		r[0] = 1;
		_exit(0);
	}
	WAIT_KILLED(c, SIGSEGV);
	CHECK_OK(shmdt(r));

	// Fixed addresses.
	char *hole = mmap(NULL, 8 * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(hole != MAP_FAILED);
	CHECK_OK(munmap(hole, 8 * PAGE));
	CHECK_ERR(shmat(id, hole + 1, 0), EINVAL);
	CHECK_ERR(shmat(id, NULL, SHM_REMAP), EINVAL);
	CHECK_EQ(shmat(id, hole + 100, SHM_RND), hole);
	CHECK_EQ(hole[1], 'C');
	CHECK_ERR(shmat(id, hole, 0), EINVAL); // overlaps
	CHECK_ERR(shmat(id, hole + 2 * PAGE, 0), EINVAL);
	CHECK_EQ(shmat(id, hole + 1, SHM_RND | SHM_REMAP), hole);
	CHECK_EQ(nattch(id), 2);
	CHECK_OK(shmdt(hole));
	CHECK_EQ(nattch(id), 1);

	// IPC_RMID while attached: marked, still usable by id, gone with the
	// last detach.
	key_t key = 0x5c0c0000 | (getpid() & 0xffff);
	int kid = shmget(key, 100, IPC_CREAT | IPC_EXCL | 0600);
	CHECK(kid >= 0);
	char *k = shmat(kid, NULL, 0);
	CHECK(k != (void *)-1);
	k[0] = 'k';
	// /proc/sysvipc/shm lists it.
	static char list[1 << 16];
	CHECK(read_text("/proc/sysvipc/shm", list, sizeof list) > 0);
	CHECK(strncmp(list, "       key      shmid perms", 27) == 0);
	int found = 0;
	for (char *l = strchr(list, '\n'); l && l[1]; l = strchr(l + 1, '\n')) {
		int lkey, lid, cpid, lpid;
		unsigned mode;
		unsigned long size, natt;
		if (sscanf(l + 1, "%d %d %o %lu %d %d %lu", &lkey, &lid, &mode, &size, &cpid, &lpid, &natt) == 7 &&
		    lid == kid) {
			CHECK(lkey == key && mode == 0600 && size == 100 && cpid == getpid() && lpid == getpid() && natt == 1);
			found = 1;
		}
	}
	CHECK(found);
	CHECK(read_text("/proc/sys/kernel/shmmni", list, sizeof list) > 0 && atoi(list) > 0);
	CHECK_OK(shmctl(kid, IPC_RMID, NULL));
	ds = stat_of(kid);
	CHECK_EQ(ds.shm_perm.mode, 0600 | SHM_DEST);
	CHECK_EQ(ds.shm_perm.__key, IPC_PRIVATE);
	CHECK_EQ(ds.shm_nattch, 1);
	CHECK_ERR(shmget(key, 100, 0600), ENOENT);
	char *k2 = shmat(kid, NULL, 0); // Linux still attaches by id
	CHECK(k2 != (void *)-1);
	CHECK_EQ(k2[0], 'k');
	CHECK_OK(shmdt(k2));
	CHECK_OK(shmdt(k));
	CHECK_ERR(shmctl(kid, IPC_STAT, &ds), EINVAL);
	CHECK_ERR(shmat(kid, NULL, 0), EINVAL);

	// Unattached: removed at once.
	CHECK_OK(shmdt(p));
	CHECK_EQ(nattch(id), 0);
	CHECK_OK(shmctl(id, IPC_RMID, NULL));
	CHECK_ERR(shmctl(id, IPC_STAT, &ds), EINVAL);
	CHECK_ERR(shmctl(id, IPC_RMID, NULL), EINVAL);
	return 0;
}
