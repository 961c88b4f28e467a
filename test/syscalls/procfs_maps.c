// procfs_maps: /proc/self/maps has one line per mapping, sorted, with
// start-end, perms (rwxp/s), offset, device, inode and path: it contains
// [stack] around a local variable, a private anonymous mapping the test makes
// at its exact range, its new perms after mprotect (split into two lines),
// a shared file mapping with "r--s", its offset and the file's path, and
// the executable; an unmapped range disappears.
//
//go:build ignore

#include "procfs_check.h"
#include <limits.h>

static char maps[256 * 1024];

// find returns the line of the mapping that starts at start, or NULL.
static const char *find(uintptr_t start, char *line, size_t size) {
	READ_PROC("/proc/self/maps", maps);
	for (char *l = maps; *l; l = strchr(l, '\n') + 1) {
		uintptr_t s = strtoull(l, NULL, 16);
		size_t n = strcspn(l, "\n");
		if (s == start) {
			snprintf(line, size, "%.*s", (int)n, l);
			return line;
		}
		if (!l[n])
			break;
	}
	return NULL;
}

int main(int argc, char **argv) {
	long pg = page_size();
	char line[PATH_MAX + 128], perms[8], path[PATH_MAX];
	unsigned long long s, e, off, ino;
	unsigned maj, min;

	// Sorted, well-formed lines; the stack contains a local.
	int local = 0;
	READ_PROC("/proc/self/maps", maps);
	unsigned long long prev_end = 0;
	int stack_ok = 0, lines = 0;
	for (char *l = maps; *l; lines++) {
		path[0] = 0;
		int k = sscanf(l, "%llx-%llx %4s %llx %x:%x %llu %s", &s, &e, perms, &off, &maj, &min, &ino, path);
		CHECK(k >= 7);
		CHECK(s < e);
		CHECK(s >= prev_end);
		prev_end = e;
		if (strcmp(path, "[stack]") == 0 && (uintptr_t)&local >= s && (uintptr_t)&local < e)
			stack_ok = 1;
		char *nl = strchr(l, '\n');
		CHECK(nl != NULL);
		l = nl + 1;
	}
	CHECK(lines > 3);
	CHECK(stack_ok);

	char *m = mmap(NULL, 4 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(m != MAP_FAILED);
	CHECK(find((uintptr_t)m, line, sizeof line) != NULL);
	CHECK_EQ(sscanf(line, "%llx-%llx %4s", &s, &e, perms), 3);
	CHECK_EQ(e, (uintptr_t)m + 4 * pg);
	CHECK(strcmp(perms, "rw-p") == 0);
	CHECK_OK(mprotect(m + 2 * pg, 2 * pg, PROT_READ));
	CHECK(find((uintptr_t)m, line, sizeof line) != NULL);
	CHECK_EQ(sscanf(line, "%llx-%llx %4s", &s, &e, perms), 3);
	CHECK_EQ(e, (uintptr_t)m + 2 * pg);
	CHECK(find((uintptr_t)m + 2 * pg, line, sizeof line) != NULL);
	CHECK_EQ(sscanf(line, "%llx-%llx %4s", &s, &e, perms), 3);
	CHECK(strcmp(perms, "r--p") == 0);
	CHECK_OK(munmap(m, 4 * pg));
	CHECK(find((uintptr_t)m, line, sizeof line) == NULL);

	const char *big = fixture(argc, argv, "big.bin");
	int fd = open(big, O_RDONLY);
	CHECK(fd >= 0);
	char *f = mmap(NULL, 2 * pg, PROT_READ, MAP_SHARED, fd, 4 * pg);
	CHECK(f != MAP_FAILED);
	struct stat st;
	CHECK_OK(fstat(fd, &st));
	CHECK(find((uintptr_t)f, line, sizeof line) != NULL);
	path[0] = 0;
	CHECK_EQ(sscanf(line, "%llx-%llx %4s %llx %x:%x %llu %s", &s, &e, perms, &off, &maj, &min, &ino, path), 8);
	CHECK(strcmp(perms, "r--s") == 0);
	CHECK_EQ(off, 4 * pg);
	CHECK_EQ(ino, st.st_ino);
	char real[PATH_MAX];
	CHECK(realpath(big, real) != NULL);
	CHECK(strcmp(path, real) == 0);

	// The executable's text is mapped executable, from its file.
	CHECK(realpath(argv[0], real) != NULL);
	int exe_x = 0;
	READ_PROC("/proc/self/maps", maps);
	for (char *l = maps; *l; l = strchr(l, '\n') + 1) {
		path[0] = 0;
		sscanf(l, "%llx-%llx %4s %llx %x:%x %llu %s", &s, &e, perms, &off, &maj, &min, &ino, path);
		if (strcmp(path, real) == 0 && perms[2] == 'x' && (uintptr_t)main >= s && (uintptr_t)main < e)
			exe_x = 1;
	}
	CHECK(exe_x);
	return 0;
}
