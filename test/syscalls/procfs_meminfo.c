// procfs_meminfo: every /proc/meminfo line is "Key: <number>[ kB]"; MemTotal,
// MemFree and MemAvailable are present with MemFree <= MemTotal and
// MemAvailable <= MemTotal, and MemTotal agrees with sysinfo's totalram.
//
//go:build ignore

#include "procfs_check.h"
#include <ctype.h>
#include <sys/sysinfo.h>

int main(void) {
	static char m[64 * 1024];
	READ_PROC("/proc/meminfo", m);
	int lines = 0;
	for (char *l = m; *l; lines++) {
		char *nl = strchr(l, '\n');
		CHECK(nl != NULL);
		*nl = 0;
		char *colon = strchr(l, ':');
		if (!colon)
			FAIL("no colon in meminfo line %s", l);
		char *v = colon + 1;
		while (*v == ' ')
			v++;
		if (!isdigit((unsigned char)*v))
			FAIL("no number in meminfo line %s", l);
		while (isdigit((unsigned char)*v))
			v++;
		if (*v && strcmp(v, " kB") != 0)
			FAIL("bad unit in meminfo line %s", l);
		*nl = '\n';
		l = nl + 1;
	}
	CHECK(lines >= 3);
	char v[64];
	unsigned long long total = strtoull(status_field(m, "MemTotal", v, sizeof v), NULL, 10);
	unsigned long long free_ = strtoull(status_field(m, "MemFree", v, sizeof v), NULL, 10);
	unsigned long long avail = strtoull(status_field(m, "MemAvailable", v, sizeof v), NULL, 10);
	CHECK(total > 0);
	CHECK(free_ <= total);
	CHECK(avail <= total);
	struct sysinfo si;
	CHECK_OK(sysinfo(&si));
	CHECK_EQ((unsigned long long)si.totalram * si.mem_unit / 1024, total);
	return 0;
}
