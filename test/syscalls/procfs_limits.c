// procfs_limits: /proc/self/limits has a header and one row per resource
// with soft and hard limits ("unlimited" for RLIM_INFINITY) and units; the
// rows agree with getrlimit and follow setrlimit.
//
//go:build ignore

#include "procfs_check.h"

// row parses the soft and hard limit of the row starting with name.
static void row(const char *name, unsigned long long *soft, unsigned long long *hard) {
	static char buf[8192];
	READ_PROC("/proc/self/limits", buf);
	CHECK(strncmp(buf, "Limit", 5) == 0);
	for (char *l = buf; *l; l = strchr(l, '\n') + 1) {
		if (strncmp(l, name, strlen(name)) == 0) {
			char s[32], h[32];
			// Columns: name (26 wide), soft, hard, units.
			if (sscanf(l + 26, "%31s %31s", s, h) != 2)
				FAIL("malformed limits row: %.80s", l);
			*soft = strcmp(s, "unlimited") == 0 ? RLIM_INFINITY : strtoull(s, NULL, 10);
			*hard = strcmp(h, "unlimited") == 0 ? RLIM_INFINITY : strtoull(h, NULL, 10);
			return;
		}
		if (!strchr(l, '\n'))
			break;
	}
	FAIL("no %s row in /proc/self/limits", name);
}

int main(void) {
	struct {
		const char *name;
		int res;
	} rows[] = {
		{"Max cpu time", RLIMIT_CPU},     {"Max file size", RLIMIT_FSIZE},
		{"Max stack size", RLIMIT_STACK}, {"Max core file size", RLIMIT_CORE},
		{"Max processes", RLIMIT_NPROC},  {"Max open files", RLIMIT_NOFILE},
		{"Max address space", RLIMIT_AS},
	};
	for (unsigned i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct rlimit r;
		unsigned long long s, h;
		CHECK_OK(getrlimit(rows[i].res, &r));
		row(rows[i].name, &s, &h);
		if (s != r.rlim_cur || h != r.rlim_max)
			FAIL("%s: limits says %llu/%llu, getrlimit %llu/%llu", rows[i].name, s, h,
			     (unsigned long long)r.rlim_cur, (unsigned long long)r.rlim_max);
	}
	struct rlimit r;
	CHECK_OK(getrlimit(RLIMIT_NOFILE, &r));
	r.rlim_cur = 123;
	CHECK_OK(setrlimit(RLIMIT_NOFILE, &r));
	unsigned long long s, h;
	row("Max open files", &s, &h);
	CHECK_EQ(s, 123);
	CHECK_EQ(h, r.rlim_max);
	struct rlimit c = {RLIM_INFINITY, RLIM_INFINITY};
	CHECK_OK(getrlimit(RLIMIT_CPU, &c));
	if (c.rlim_max == RLIM_INFINITY) {
		c.rlim_cur = 100;
		CHECK_OK(setrlimit(RLIMIT_CPU, &c));
		row("Max cpu time", &s, &h);
		CHECK_EQ(s, 100);
		CHECK_EQ(h, RLIM_INFINITY);
	}
	return 0;
}
