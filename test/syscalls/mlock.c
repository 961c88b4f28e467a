// mlock: mlock/mlock2/munlock lock whole pages of mapped ranges (VmLck in
// /proc/self/status counts them once, however often locked), ENOMEM over
// a hole, EINVAL for unknown flags; mlockall locks every mapping and, with
// MCL_FUTURE, the ones made later; locks are not inherited by fork;
// munlockall drops them. Without CAP_IPC_LOCK, RLIMIT_MEMLOCK bounds them:
// ENOMEM past it for mlock, EAGAIN for MAP_LOCKED, EPERM when it is 0.
//
//go:build ignore

#include "fs_check.h"
#include <sys/mman.h>
#include <sys/resource.h>

#define PG 4096L

// status_kb returns a "Name:  N kB" field of /proc/self/status.
static long status_kb(const char *name) {
	FILE *f = fopen("/proc/self/status", "r");
	CHECK(f != NULL);
	char line[256];
	long v = -1;
	size_t n = strlen(name);
	while (fgets(line, sizeof line, f))
		if (strncmp(line, name, n) == 0 && line[n] == ':')
			v = strtol(line + n + 1, NULL, 10);
	fclose(f);
	CHECK(v >= 0);
	return v;
}

static void limited(void *arg) {
	(void)arg;
	struct rlimit rl = {2 * PG, 2 * PG};
	CHECK_OK(setrlimit(RLIMIT_MEMLOCK, &rl));
	char *p = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(p != MAP_FAILED);
	CHECK_OK(mlock(p, 2 * PG));
	CHECK_OK(mlock(p + PG, PG)); // already locked: nothing more to count
	CHECK_ERR(mlock(p, 3 * PG), ENOMEM);
	CHECK_EQ(status_kb("VmLck"), 8);
	CHECK_ERR((long)mmap(NULL, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED, -1, 0), EAGAIN);
	CHECK_OK(munlock(p, 4 * PG));
	CHECK_OK(mlock(p + 2 * PG, 2 * PG));
	rl.rlim_cur = rl.rlim_max = 0;
	CHECK_OK(setrlimit(RLIMIT_MEMLOCK, &rl));
	CHECK_ERR(mlock(p, PG), EPERM);
	CHECK_ERR(mlockall(MCL_CURRENT), EPERM);
	CHECK_OK(munlock(p, 4 * PG)); // unlocking needs no limit
	CHECK_EQ(status_kb("VmLck"), 0);
}

int main(void) {
	CHECK_EQ(status_kb("VmLck"), 0);
	char *p = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(p != MAP_FAILED);
	// [p+100, p+100+PG) touches two pages.
	CHECK_OK(mlock(p + 100, PG));
	CHECK_EQ(status_kb("VmLck"), 8);
	CHECK_OK(mlock(p, 2 * PG));
	CHECK_EQ(status_kb("VmLck"), 8);
	p[0] = 1; // locked memory is ordinary memory
	CHECK_OK(munlock(p, 4 * PG));
	CHECK_EQ(status_kb("VmLck"), 0);
	CHECK_OK(syscall(SYS_mlock2, p, 3 * PG, MLOCK_ONFAULT));
	CHECK_EQ(status_kb("VmLck"), 12);
	CHECK_ERR(syscall(SYS_mlock2, p, PG, 2), EINVAL);
	CHECK_OK(munlock(p, 4 * PG));
	CHECK_OK(munmap(p + 2 * PG, PG));
	CHECK_ERR(mlock(p, 4 * PG), ENOMEM);
	CHECK_ERR(munlock(p, 4 * PG), ENOMEM);
	CHECK_OK(mlock(p, 2 * PG)); // a partly mapped range locks nothing more
	CHECK_EQ(status_kb("VmLck"), 8);
	CHECK_OK(munlock(p, 2 * PG));
	CHECK_ERR(mlockall(0), EINVAL);
	CHECK_ERR(mlockall(MCL_ONFAULT), EINVAL);
	CHECK_ERR(mlockall(8), EINVAL);

	fflush(NULL);
	pid_t pid = XFORK();
	if (pid == 0) {
		CHECK_OK(mlockall(MCL_CURRENT | MCL_FUTURE));
		long size = status_kb("VmSize"), lck = status_kb("VmLck");
		CHECK(lck > 0 && lck <= size && size - lck <= 64); // all but the vDSO's pages
		char *q = mmap(NULL, 16 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		CHECK(q != MAP_FAILED);
		CHECK_EQ(status_kb("VmLck"), lck + 64);
		pid_t g = XFORK();
		if (g == 0) {
			CHECK_EQ(status_kb("VmLck"), 0);
			char *r = mmap(NULL, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			CHECK(r != MAP_FAILED);
			CHECK_EQ(status_kb("VmLck"), 0); // nor is MCL_FUTURE
			_exit(0);
		}
		WAIT_EXIT(g, 0);
		CHECK_OK(munlockall());
		CHECK_EQ(status_kb("VmLck"), 0);
		_exit(0);
	}
	WAIT_EXIT(pid, 0);
	if (geteuid() == 0)
		as_nobody(limited, NULL);
	return 0;
}
