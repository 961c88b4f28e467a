// exercise: runs the vDSO image's code natively, outside any sandbox, to
// check the trampolines (sentry/vdso vdso_test.go builds and runs it).
//
//   exercise IMAGE forward|syscall OFFSETS...
//
// The image is mapped right above a data page, as the loader maps them. In
// "forward" mode the data page points the trampolines at this program's
// fake_* functions, which record their arguments: the clocks the sentry
// takes from the host must reach them with the arguments intact, and
// everything else must make the real system call. In "syscall" mode the
// data page is zero (a platform without a host vDSO): every function must
// make the system call. getcpu answers from the data page in both.
//
//go:build ignore

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define FAIL(...)                                                      \
	do {                                                           \
		fprintf(stderr, "FAIL: line %d: ", __LINE__);          \
		fprintf(stderr, __VA_ARGS__);                          \
		fprintf(stderr, "\n");                                 \
		exit(1);                                               \
	} while (0)
#define CHECK(c)                                                       \
	do {                                                           \
		if (!(c))                                              \
			FAIL("%s", #c);                                \
	} while (0)

typedef long (*clock_fn)(long, void *);
typedef long (*tod_fn)(void *, void *);
typedef long (*time_fn)(long *);
typedef long (*getcpu_fn)(unsigned *, unsigned *, void *);

static int calls;
static long last_id;
static void *last_p1, *last_p2;

static long fake_clock_gettime(long id, void *ts) {
	calls++, last_id = id, last_p1 = ts;
	return 1001;
}
static long fake_clock_getres(long id, void *ts) {
	calls++, last_id = id, last_p1 = ts;
	return 1002;
}
static long fake_gettimeofday(void *tv, void *tz) {
	calls++, last_p1 = tv, last_p2 = tz;
	return 1003;
}
static long fake_time(long *t) {
	calls++, last_p1 = t;
	return 1004;
}

// raw is what the system call returns, as a vDSO function returns it:
// the result or -errno.
static long raw(long r) { return r == -1 ? -errno : r; }

static int host_clock(long id) {
	return id == 0 || id == 1 || id == 4 || id == 5 || id == 6 || id == 7 || id == 11;
}

int main(int argc, char **argv) {
	if (argc != 15)
		FAIL("usage: exercise IMAGE MODE 12 offsets");
	int forward = strcmp(argv[2], "forward") == 0;
	unsigned long o[12];
	for (int i = 0; i < 12; i++)
		o[i] = strtoul(argv[3 + i], NULL, 0);
	unsigned long off_cg = o[0], off_tod = o[1], off_time = o[2], off_getcpu = o[3], off_res = o[4];
	unsigned long d_cg = o[5], d_tod = o[6], d_time = o[7], d_res = o[8], d_cpu = o[9], d_node = o[10];
	unsigned long image_size = o[11];

	char *block = mmap(NULL, 4096 + image_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(block != MAP_FAILED);
	int fd = open(argv[1], O_RDONLY);
	CHECK(fd >= 0);
	CHECK(read(fd, block + 4096, image_size) == (ssize_t)image_size);
	close(fd);
	if (forward) {
		*(uint64_t *)(block + d_cg) = (uintptr_t)fake_clock_gettime;
		*(uint64_t *)(block + d_tod) = (uintptr_t)fake_gettimeofday;
		*(uint64_t *)(block + d_time) = (uintptr_t)fake_time;
		*(uint64_t *)(block + d_res) = (uintptr_t)fake_clock_getres;
	}
	*(uint32_t *)(block + d_cpu) = 3;
	*(uint32_t *)(block + d_node) = 1;
	CHECK(mprotect(block, 4096, PROT_READ) == 0);
	CHECK(mprotect(block + 4096, image_size, PROT_READ | PROT_EXEC) == 0);
	char *image = block + 4096;
	clock_fn cg = (clock_fn)(image + off_cg), res = (clock_fn)(image + off_res);
	tod_fn tod = (tod_fn)(image + off_tod);
	time_fn tm = (time_fn)(image + off_time);
	getcpu_fn getcpu = (getcpu_fn)(image + off_getcpu);

	long ids[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 31, 32, 0x100000001L, -1, -6, -2147483647L - 1};
	for (unsigned i = 0; i < sizeof ids / sizeof ids[0]; i++) {
		long id = ids[i];
		// The kernel takes the clock id as an int.
		int hosted = forward && host_clock((int)id);
		struct timespec a, b;
		calls = 0;
		long got = cg(id, &a);
		if (hosted) {
			CHECK(got == 1001 && calls == 1 && last_id == id && last_p1 == &a);
		} else {
			CHECK(calls == 0);
			long want = raw(syscall(SYS_clock_gettime, (int)id, &b));
			if (got != want)
				FAIL("clock_gettime(%ld) = %ld, the system call says %ld", id, got, want);
		}
		calls = 0;
		got = res(id, &a);
		if (hosted) {
			CHECK(got == 1002 && calls == 1 && last_id == id && last_p1 == &a);
		} else {
			CHECK(calls == 0);
			long want = raw(syscall(SYS_clock_getres, (int)id, &b));
			if (got != want)
				FAIL("clock_getres(%ld) = %ld, the system call says %ld", id, got, want);
			if (got == 0)
				CHECK(a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec);
		}
	}
	// A clock the system call serves reads the real clock.
	if (!forward) {
		struct timespec a, v, b;
		clock_gettime(CLOCK_MONOTONIC, &a);
		CHECK(cg(CLOCK_MONOTONIC, &v) == 0);
		clock_gettime(CLOCK_MONOTONIC, &b);
		long long na = a.tv_sec * 1000000000LL + a.tv_nsec, nv = v.tv_sec * 1000000000LL + v.tv_nsec,
			  nb = b.tv_sec * 1000000000LL + b.tv_nsec;
		CHECK(na <= nv && nv <= nb);
	}

	struct timeval tv;
	struct timezone tz;
	calls = 0;
	long got = tod(&tv, NULL);
	if (forward)
		CHECK(got == 1003 && calls == 1 && last_p1 == &tv && last_p2 == NULL);
	else
		CHECK(got == 0 && tv.tv_sec > 0);
	calls = 0;
	memset(&tz, 0x55, sizeof tz);
	CHECK(tod(&tv, &tz) == 0 && calls == 0 && tz.tz_dsttime != 0x55555555);

	long t;
	calls = 0;
	got = tm(&t);
	if (forward) {
		CHECK(got == 1004 && calls == 1 && last_p1 == &t);
	} else {
		long now = time(NULL);
		CHECK(got == t && got >= now - 1 && got <= now + 1);
	}

	unsigned cpu = 77, node = 77;
	CHECK(getcpu(&cpu, &node, NULL) == 0 && cpu == 3 && node == 1);
	cpu = 77;
	CHECK(getcpu(&cpu, NULL, NULL) == 0 && cpu == 3);
	node = 77;
	CHECK(getcpu(NULL, &node, NULL) == 0 && node == 1);
	CHECK(getcpu(NULL, NULL, NULL) == 0);
	puts("ok");
	return 0;
}
