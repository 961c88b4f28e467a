// procfs_smaps: /proc/self/smaps shows each mapping's block of counters
// in Linux's order and format (a mapping of 64 pages, all touched: Size,
// Rss, Anonymous and Private_Dirty 256 kB; the sandbox maps pages around
// a fault, so a partly touched one would show more than Linux), and /proc/self/smaps_rollup
// their sums under a "[rollup]" header from the first mapping's start to
// the last one's end: its Rss is the smaps Rss summed, and its Pss splits
// into Pss_Anon, Pss_File and Pss_Shmem.
//
//go:build ignore

#include "fs_check.h"
#include <sys/mman.h>

static char smaps[1 << 20], rollup[8192], maps[1 << 18];

// field returns the kB value of the line "name:" at or after p.
static long field(const char *p, const char *name) {
	char key[64];
	snprintf(key, sizeof key, "\n%s:", name);
	const char *q = strstr(p - 1, key);
	if (q == NULL)
		FAIL("no %s line", name);
	return strtol(q + strlen(key), NULL, 10);
}

// check_order checks that the first n lines of block are the lines of
// names, in order (a ProtectionKey line, shown where the CPU has
// protection keys, aside).
static void check_order(const char *block, const char *const *names, int n) {
	const char *p = block;
	for (int i = 0; i < n; i++) {
		if (strncmp(p, "ProtectionKey:", 14) == 0) // hosts with pkeys
			p = strchr(p, '\n') + 1;
		size_t len = strlen(names[i]);
		if (strncmp(p, names[i], len) != 0 || p[len] != ':')
			FAIL("line %d: want %s, got %.30s", i, names[i], p);
		CHECK(strchr(p, '\n') != NULL);
		p = strchr(p, '\n') + 1;
	}
}

static const char *const smaps_fields[] = {"Size", "KernelPageSize", "MMUPageSize", "Rss", "Pss", "Pss_Dirty",
	"Shared_Clean", "Shared_Dirty", "Private_Clean", "Private_Dirty", "Referenced", "Anonymous", "KSM",
	"LazyFree", "AnonHugePages", "ShmemPmdMapped", "FilePmdMapped", "Shared_Hugetlb", "Private_Hugetlb",
	"Swap", "SwapPss", "Locked", "THPeligible", "VmFlags"};
static const char *const rollup_fields[] = {"Rss", "Pss", "Pss_Dirty", "Pss_Anon", "Pss_File", "Pss_Shmem",
	"Shared_Clean", "Shared_Dirty", "Private_Clean", "Private_Dirty", "Referenced", "Anonymous", "KSM",
	"LazyFree", "AnonHugePages", "ShmemPmdMapped", "FilePmdMapped", "Shared_Hugetlb", "Private_Hugetlb",
	"Swap", "SwapPss", "Locked"};

int main(void) {
	long ps = page_size();
	char *m = mmap(NULL, 64 * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(m != MAP_FAILED);
	for (int i = 0; i < 64; i++)
		m[i * ps] = 1;

	ssize_t n = slurp("/proc/self/smaps_rollup", rollup, sizeof rollup - 1);
	CHECK(n > 0);
	rollup[n] = 0;
	n = slurp("/proc/self/smaps", smaps, sizeof smaps - 1);
	CHECK(n > 0 && n < (ssize_t)sizeof smaps - 1);
	smaps[n] = 0;
	n = slurp("/proc/self/maps", maps, sizeof maps - 1);
	CHECK(n > 0);
	maps[n] = 0;

	// Our mapping's block.
	char head[64];
	snprintf(head, sizeof head, "%08lx-%08lx rw-p ", (unsigned long)m, (unsigned long)(m + 64 * ps));
	char *block = strstr(smaps, head);
	CHECK(block != NULL);
	block = strchr(block, '\n') + 1;
	check_order(block, smaps_fields, 24);
	CHECK(strncmp(block, "Size:                256 kB\n", 28) == 0);
	CHECK_EQ(field(block, "Rss"), 256);
	CHECK_EQ(field(block, "Anonymous"), 256);
	CHECK_EQ(field(block, "Private_Dirty"), 256);
	CHECK(strstr(block, "\nTHPeligible:           0\n") != NULL || strstr(block, "\nTHPeligible:           1\n") != NULL);

	// The rollup: the header spans the mappings, the sums follow.
	unsigned long start, end, first_start, last_end = 0;
	char tail[64];
	CHECK_EQ(sscanf(rollup, "%lx-%lx ---p 00000000 00:00 0 %63s", &start, &end, tail), 3);
	CHECK(strcmp(tail, "[rollup]") == 0);
	CHECK(strchr(rollup, '[') - rollup == 73);
	CHECK_EQ(sscanf(maps, "%lx-", &first_start), 1);
	// The last mapping of the address space: [vsyscall], a gate outside
	// it, does not count.
	for (char *line = maps; *line; line = strchr(line, '\n') + 1) {
		unsigned long s, e;
		CHECK_EQ(sscanf(line, "%lx-%lx", &s, &e), 2);
		char *nl = strchr(line, '\n');
		CHECK(nl != NULL);
		char *gate = strstr(line, "[vsyscall]");
		if (gate == NULL || gate > nl)
			last_end = e;
	}
	CHECK_EQ(start, first_start);
	CHECK_EQ(end, last_end);
	char *sums = strchr(rollup, '\n') + 1;
	check_order(sums, rollup_fields, 22);
	long rss = 0;
	for (char *p = strstr(smaps, "\nRss:"); p != NULL; p = strstr(p + 1, "\nRss:"))
		rss += strtol(p + 5, NULL, 10);
	long rollup_rss = field(sums, "Rss");
	CHECK(rollup_rss >= 256);
	CHECK(field(sums, "Anonymous") >= 256);
	// Reads a moment apart: the file pages resident may move a little.
	CHECK(labs(rollup_rss - rss) <= 64 + rss / 100);
	long split = field(sums, "Pss_Anon") + field(sums, "Pss_File") + field(sums, "Pss_Shmem");
	CHECK(labs(split - field(sums, "Pss")) <= 3);
	return 0;
}
