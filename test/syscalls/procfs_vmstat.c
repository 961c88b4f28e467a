// procfs_vmstat: every /proc/vmstat line is "name <number>"; free pages,
// anonymous pages, shared memory, swap-ins and swap-outs, page faults and
// OOM kills are counted; the free pages fit in /proc/meminfo's MemTotal (6.18 keeps
// some free memory in a counter of its own, so MemFree may be more), and
// pages the program touches count among the anonymous ones, and fault.
//
//go:build ignore

#include "procfs_check.h"
#include <ctype.h>
#include <sys/mman.h>

static unsigned long long counter(const char *text, const char *name) {
	size_t len = strlen(name);
	for (const char *l = text; *l;) {
		if (strncmp(l, name, len) == 0 && l[len] == ' ')
			return strtoull(l + len + 1, NULL, 10);
		const char *nl = strchr(l, '\n');
		if (!nl)
			break;
		l = nl + 1;
	}
	FAIL("no %s in /proc/vmstat", name);
}

int main(void) {
	static char s[64 * 1024], m[64 * 1024];
	READ_PROC("/proc/vmstat", s);
	int lines = 0;
	for (char *l = s; *l; lines++) {
		char *nl = strchr(l, '\n');
		CHECK(nl != NULL);
		*nl = 0;
		char *sp = strchr(l, ' ');
		if (!sp || sp == l)
			FAIL("no name in vmstat line %s", l);
		for (char *c = l; c < sp; c++)
			if (!islower((unsigned char)*c) && !isdigit((unsigned char)*c) && *c != '_')
				FAIL("bad name in vmstat line %s", l);
		char *v = sp + 1;
		if (!isdigit((unsigned char)*v))
			FAIL("no number in vmstat line %s", l);
		while (isdigit((unsigned char)*v))
			v++;
		if (*v)
			FAIL("junk after the number in vmstat line %s", l);
		*nl = '\n';
		l = nl + 1;
	}
	CHECK(lines >= 6);
	counter(s, "nr_shmem");
	counter(s, "pswpin");
	counter(s, "pswpout");
	counter(s, "oom_kill");
	counter(s, "pgmajfault");
	unsigned long long faults = counter(s, "pgfault");
	unsigned long long anon = counter(s, "nr_anon_pages");
	unsigned long long freep = counter(s, "nr_free_pages");
	READ_PROC("/proc/meminfo", m);
	char v[64];
	unsigned long long total = strtoull(status_field(m, "MemTotal", v, sizeof v), NULL, 10);
	CHECK(freep * 4 <= total);

	// 16 MiB touched: anonymous pages grow by most of it. Natively the
	// counter is the machine's, and other processes may free as much
	// meanwhile: a few tries, each with a fresh mapping, must see it
	// once.
	size_t len = 16 << 20;
	unsigned long long after = 0;
	int tries = 0;
	for (; tries < 5; tries++) {
		if (tries > 0) {
			READ_PROC("/proc/vmstat", s);
			anon = counter(s, "nr_anon_pages");
		}
		char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		CHECK(p != MAP_FAILED);
		memset(p, 1, len);
		READ_PROC("/proc/vmstat", s);
		after = counter(s, "nr_anon_pages");
		CHECK_OK(munmap(p, len));
		if (after >= anon + (len / 4096) / 2)
			break;
	}
	if (tries == 5)
		FAIL("nr_anon_pages %llu after touching %zu pages, %llu before (five tries)", after, len / 4096, anon);
	if (counter(s, "pgfault") <= faults)
		FAIL("pgfault %llu after touching %zu pages, %llu before", counter(s, "pgfault"), len / 4096, faults);
	return 0;
}
