// rlimit: getrlimit, prlimit64 (pid 0 and own pid) and setrlimit agree;
// soft <= hard; lowering a soft limit (and a hard limit) is visible
// everywhere; soft > hard -> EINVAL; unknown resource -> EINVAL; another
// pid that does not exist -> ESRCH.
//
//go:build ignore

#include "check.h"
#include <sys/resource.h>

static void get(int res, struct rlimit *r) {
	if (syscall(SYS_prlimit64, 0, res, NULL, r) != 0)
		FAIL("prlimit64(0, %d) (errno %d %s)", res, errno, errname(errno));
}

int main(void) {
	int all[] = {RLIMIT_NOFILE, RLIMIT_STACK, RLIMIT_DATA, RLIMIT_AS, RLIMIT_CORE, RLIMIT_CPU, RLIMIT_FSIZE};
	for (unsigned i = 0; i < sizeof all / sizeof all[0]; i++) {
		struct rlimit a, b, c;
		CHECK_EQ(getrlimit(all[i], &a), 0);
		get(all[i], &b);
		CHECK_EQ(syscall(SYS_prlimit64, getpid(), all[i], NULL, &c), 0);
		CHECK_EQ(a.rlim_cur, b.rlim_cur);
		CHECK_EQ(a.rlim_max, b.rlim_max);
		CHECK_EQ(a.rlim_cur, c.rlim_cur);
		CHECK_EQ(a.rlim_max, c.rlim_max);
		CHECK(a.rlim_cur <= a.rlim_max);
	}

	// Lower the soft core limit (harmless) with setrlimit.
	struct rlimit r, old;
	CHECK_EQ(getrlimit(RLIMIT_CORE, &r), 0);
	rlim_t want = r.rlim_cur == 0 ? 0 : (r.rlim_cur > 4096 ? 4096 : r.rlim_cur - 1);
	r.rlim_cur = want;
	CHECK_EQ(setrlimit(RLIMIT_CORE, &r), 0);
	get(RLIMIT_CORE, &r);
	CHECK_EQ(r.rlim_cur, want);

	// Lower soft and hard FSIZE via prlimit64, which returns the old value.
	struct rlimit cur;
	get(RLIMIT_FSIZE, &cur);
	struct rlimit nl = {1 << 20, 1 << 21};
	if (cur.rlim_max < nl.rlim_max)
		nl = (struct rlimit){cur.rlim_max / 2, cur.rlim_max};
	CHECK_EQ(syscall(SYS_prlimit64, 0, RLIMIT_FSIZE, &nl, &old), 0);
	CHECK_EQ(old.rlim_cur, cur.rlim_cur);
	CHECK_EQ(old.rlim_max, cur.rlim_max);
	get(RLIMIT_FSIZE, &r);
	CHECK_EQ(r.rlim_cur, nl.rlim_cur);
	CHECK_EQ(r.rlim_max, nl.rlim_max);

	// soft > hard.
	struct rlimit bad = {r.rlim_max, r.rlim_max - 1};
	CHECK_ERR(setrlimit(RLIMIT_FSIZE, &bad), EINVAL);
	CHECK_ERR(syscall(SYS_prlimit64, 0, RLIMIT_FSIZE, &bad, NULL), EINVAL);
	get(RLIMIT_FSIZE, &r);
	CHECK_EQ(r.rlim_cur, nl.rlim_cur); // unchanged

	// Raising the soft limit back up to the hard limit is allowed.
	r.rlim_cur = r.rlim_max;
	CHECK_EQ(setrlimit(RLIMIT_FSIZE, &r), 0);
	get(RLIMIT_FSIZE, &r);
	CHECK_EQ(r.rlim_cur, r.rlim_max);

	CHECK_ERR(syscall(SYS_prlimit64, 0, 1000, NULL, &r), EINVAL);
	CHECK_ERR(getrlimit(1000, &r), EINVAL);
	CHECK_ERR(syscall(SYS_prlimit64, 0x3fffffff, RLIMIT_CORE, NULL, &r), ESRCH);
	CHECK_ERR(syscall(SYS_prlimit64, 0, RLIMIT_CORE, NULL, bad_addr()), EFAULT);
	return 0;
}
