// procfs_check.h: reading and parsing /proc files for the /proc tests.
#ifndef COCOON_TEST_PROCFS_CHECK_H
#define COCOON_TEST_PROCFS_CHECK_H

#include "task_check.h"

// READ_PROC(path, buf): read_text that fails the test on error.
#define READ_PROC(path, buf)                                                       \
	({                                                                         \
		long n_ = read_text((path), (buf), sizeof(buf));                   \
		if (n_ < 0)                                                        \
			FAIL("reading %s (errno %d %s)", (path), errno, errname(errno)); \
		n_;                                                                \
	})

// stat_field returns field n (1-based, as in proc(5)) of a /proc/PID/stat
// text; fields after the comm are found from the last ')'. Field 2 (comm)
// is returned without its parentheses in comm if comm is not NULL.
static inline long long stat_field(const char *stat, int n, char *comm, size_t commsize) {
	const char *open = strchr(stat, '(');
	const char *close = strrchr(stat, ')');
	if (!open || !close || close < open)
		FAIL("malformed stat line: %s", stat);
	if (comm) {
		size_t len = close - open - 1;
		if (len >= commsize)
			len = commsize - 1;
		memcpy(comm, open + 1, len);
		comm[len] = 0;
	}
	if (n == 1)
		return atoll(stat);
	if (n == 2)
		return 0;
	const char *p = close + 1; // " S ppid ..." : field 3 is next
	for (int f = 3; f <= n; f++) {
		while (*p == ' ')
			p++;
		if (!*p)
			FAIL("stat line has no field %d: %s", n, stat);
		if (f == n)
			return n == 3 ? (long long)*p : atoll(p);
		while (*p && *p != ' ')
			p++;
	}
	return 0;
}

// status_field returns the text after "Key:" (spaces and tabs skipped) in a
// /proc/PID/status text, copied into out; it fails if the key is missing.
static inline const char *status_field(const char *status, const char *key, char *out, size_t size) {
	size_t kl = strlen(key);
	for (const char *line = status; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
			const char *v = line + kl + 1;
			while (*v == ' ' || *v == '\t')
				v++;
			size_t n = strcspn(v, "\n");
			if (n >= size)
				n = size - 1;
			memcpy(out, v, n);
			out[n] = 0;
			return out;
		}
	}
	FAIL("no %s: line in status", key);
}

#endif
