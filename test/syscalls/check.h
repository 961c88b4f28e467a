// check.h: tiny assertion helpers shared by the differential syscall tests.
//
// Every test is a standalone static C program. On success it exits 0 and
// prints (almost) nothing; on failure it prints one line
//   FAIL: file.c:LINE: <what> (got X want Y, errno E)
// to stderr and exits 1. Tests run both natively and under `cocoon do`;
// native Linux is the oracle.
#ifndef COCOON_TEST_CHECK_H
#define COCOON_TEST_CHECK_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static inline const char *errname(int e) {
	const char *n = strerrorname_np(e);
	return n ? n : "?";
}

#define FAIL(...)                                                          \
	do {                                                               \
		fprintf(stderr, "FAIL: %s:%d: ", __FILE__, __LINE__);     \
		fprintf(stderr, __VA_ARGS__);                              \
		fprintf(stderr, "\n");                                     \
		exit(1);                                                   \
	} while (0)

// CHECK(cond): cond must hold.
#define CHECK(cond)                                                        \
	do {                                                               \
		if (!(cond)) {                                             \
			int e_ = errno;                                    \
			FAIL("%s (errno %d %s)", #cond, e_, errname(e_));  \
		}                                                          \
	} while (0)

// CHECK_EQ(got, want): integer (or pointer) equality.
#define CHECK_EQ(got, want)                                                \
	do {                                                               \
		long long g_ = (long long)(got);                           \
		int e_ = errno;                                            \
		long long w_ = (long long)(want);                          \
		if (g_ != w_)                                              \
			FAIL("%s == %s (got %lld (%#llx) want %lld (%#llx), "  \
			     "errno %d %s)",                               \
			     #got, #want, g_, (unsigned long long)g_, w_,  \
			     (unsigned long long)w_, e_, errname(e_));     \
	} while (0)

// CHECK_OK(expr): expr must not return -1 (or MAP_FAILED); yields nothing.
#define CHECK_OK(expr)                                                     \
	do {                                                               \
		errno = 0;                                                 \
		long long r_ = (long long)(expr);                          \
		int e_ = errno;                                            \
		if (r_ == -1)                                              \
			FAIL("%s failed (got -1, errno %d %s)", #expr, e_, \
			     errname(e_));                                 \
	} while (0)

// CHECK_ERR(expr, E): expr must return -1 (or MAP_FAILED) with errno E.
#define CHECK_ERR(expr, want_errno)                                        \
	do {                                                               \
		errno = 0;                                                 \
		long long r_ = (long long)(expr);                          \
		int e_ = errno;                                            \
		int we_ = (want_errno);                                    \
		if (r_ != -1 || e_ != we_)                                 \
			FAIL("%s (got %lld errno %d %s, want -1 errno %d %s)", \
			     #expr, r_, e_, errname(e_), we_, errname(we_)); \
	} while (0)

// CHECK_MEM(got, want, n): n bytes at got must equal want.
#define CHECK_MEM(got, want, n)                                            \
	do {                                                               \
		const unsigned char *g_ = (const void *)(got);             \
		const unsigned char *w_ = (const void *)(want);            \
		size_t n_ = (n);                                           \
		for (size_t i_ = 0; i_ < n_; i_++)                         \
			if (g_[i_] != w_[i_])                              \
				FAIL("%s[%zu] (got %#x want %#x)", #got, i_, \
				     g_[i_], w_[i_]);                      \
	} while (0)

// CHECK_FILL(p, byte, n): n bytes at p must all equal byte.
#define CHECK_FILL(p, byte, n)                                             \
	do {                                                               \
		const volatile unsigned char *p_ = (const void *)(p);      \
		size_t n_ = (n);                                           \
		for (size_t i_ = 0; i_ < n_; i_++)                         \
			if (p_[i_] != (unsigned char)(byte))               \
				FAIL("%s[%zu] (got %#x want %#x)", #p, i_, \
				     p_[i_], (unsigned char)(byte));       \
	} while (0)

static inline long page_size(void) { return sysconf(_SC_PAGESIZE); }

// is_mapped reports whether the page containing p is mapped, via mincore
// (ENOMEM means unmapped).
static inline int is_mapped(const void *p) {
	unsigned char v;
	uintptr_t a = (uintptr_t)p & ~(uintptr_t)(page_size() - 1);
	if (mincore((void *)a, 1, &v) == 0)
		return 1;
	if (errno != ENOMEM)
		FAIL("mincore(%p) probe (errno %d %s)", p, errno, errname(errno));
	return 0;
}

// bad_addr returns an unmapped user address (for EFAULT checks) that the
// compiler cannot see through.
static inline void *bad_addr(void) {
	volatile uintptr_t a = 8;
	return (void *)a;
}

// opaque returns v in a way the compiler cannot constant-fold (to pass
// deliberately bad arguments without compile-time warnings).
static inline long opaque(long v) {
	volatile long x = v;
	return x;
}

// fixture returns the fixture directory (argv[1]) joined with name.
static inline const char *fixture(int argc, char **argv, const char *name) {
	static char buf[8][4096];
	static int next;
	if (argc < 2)
		FAIL("usage: %s FIXTUREDIR", argv[0]);
	char *b = buf[next++ % 8];
	snprintf(b, sizeof buf[0], "%s/%s", argv[1], name);
	return b;
}

// about_to_fault must be called by `// expect: signal N` programs right
// before the access that should kill them: the harness requires stdout to be
// exactly this line, so an earlier, wrong death does not count as a pass.
#define FAULT_MARKER "about to fault\n"
static inline void about_to_fault(void) {
	if (write(1, FAULT_MARKER, strlen(FAULT_MARKER)) != (ssize_t)strlen(FAULT_MARKER))
		FAIL("writing the fault marker to stdout");
}

// The fixture contents, created by syscalls_test.go.
#define SMALL_TXT "hello, cocoon\n"
#define SMALL_LEN 14
#define BIG_LEN (1 << 20) /* big.bin: byte i is i % 251 */
#define TAIL_LEN 4196     /* tail.bin: 4196 bytes of 'x' */
#define FIXTURE_MTIME 1000000000 /* mtime of small.txt */

#endif
