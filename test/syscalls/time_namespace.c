// time_namespace: unshare(CLONE_NEWTIME) makes a time namespace for the
// caller's later children only (/proc/self/ns/time_for_children), whose
// offsets /proc/self/timens_offsets shows ("%-10s %10lld %9ld" lines for
// monotonic and boottime) and sets until a process joins it: then
// EACCES. A bad clock or nanoseconds are EINVAL, an offset taking the
// clock below zero ERANGE, a write without CAP_SYS_TIME EPERM. The first
// fork child joins it: its CLOCK_MONOTONIC and CLOCK_BOOTTIME (through
// libc's vDSO, the system call, after an execve too) carry the offsets,
// CLOCK_REALTIME does not, absolute deadlines (clock_nanosleep, timerfd,
// POSIX timers) are in its clocks, and so is /proc/uptime. setns(2) with
// a time namespace file moves the caller's clocks (EUSERS for a process
// of two threads); clone3 with CLONE_NEWTIME starts the child in a new
// namespace. Without CAP_SYS_ADMIN unshare is EPERM.
//
//go:build ignore

#include "ns_check.h"
#include <linux/sched.h>
#include <poll.h>
#include <pthread.h>
#include <sys/timerfd.h>


#define MONO_OFF 86400LL
#define BOOT_OFF 172800LL

static long long clk_ns(clockid_t c, int raw) {
	struct timespec ts;
	if (raw)
		CHECK_OK(syscall(SYS_clock_gettime, c, &ts));
	else
		CHECK_OK(clock_gettime(c, &ts));
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int write_offsets(const char *s) {
	int fd = open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
	CHECK(fd >= 0);
	ssize_t n = write(fd, s, strlen(s));
	int e = errno;
	close(fd);
	errno = e;
	return n < 0 ? -1 : (int)n;
}

// near checks that a clock read a is b plus off seconds, within 5 s.
#define NEAR(a, b, off) CHECK(llabs((a) - (b) - (off) * 1000000000LL) < 5000000000LL)

// uptime_is_boottime checks that /proc/uptime shows the reader's
// CLOCK_BOOTTIME, its namespace's offset included.
static void uptime_is_boottime(void) {
	char buf[128];
	double up = -1, idle = -1;
	CHECK(read_text("/proc/uptime", buf, sizeof buf) > 0);
	CHECK(sscanf(buf, "%lf %lf", &up, &idle) == 2);
	CHECK(idle >= 0);
	NEAR((long long)(up * 1e9), clk_ns(CLOCK_BOOTTIME, 1), 0);
	// So is a process's start time in /proc/PID/stat (field 22, clock
	// ticks since boot): this process started moments ago.
	char stat[1024];
	CHECK(read_text("/proc/self/stat", stat, sizeof stat) > 0);
	char *p = strrchr(stat, ')');
	CHECK(p != NULL);
	unsigned long long start = 0;
	CHECK(sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu", &start) == 1);
	long long start_ns = (long long)start * (1000000000LL / sysconf(_SC_CLK_TCK));
	CHECK(start_ns <= (long long)(up * 1e9) + 1000000000LL);
	CHECK((long long)(up * 1e9) - start_ns < 15000000000LL);
}

// offset_clocks checks the clocks of a process in a namespace with the
// offsets, against the parent's readings passed in.
static void offset_clocks(long long mono, long long boot, long long real) {
	uptime_is_boottime();
	for (int raw = 0; raw < 2; raw++) {
		NEAR(clk_ns(CLOCK_MONOTONIC, raw), mono, MONO_OFF);
		NEAR(clk_ns(CLOCK_MONOTONIC_COARSE, raw), mono, MONO_OFF);
		NEAR(clk_ns(CLOCK_MONOTONIC_RAW, raw), mono, MONO_OFF);
		NEAR(clk_ns(CLOCK_BOOTTIME, raw), boot, BOOT_OFF);
		NEAR(clk_ns(CLOCK_REALTIME, raw), real, 0);
	}
}

static void deadlines(void) {
	struct timespec ts;
	CHECK_OK(clock_gettime(CLOCK_MONOTONIC, &ts));
	ts.tv_nsec += 20000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	// Interpreted on the host's clock, the deadline would be a day away:
	// the alarm would end the test.
	CHECK_EQ(clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL), 0);
	int tfd = timerfd_create(CLOCK_BOOTTIME, TFD_CLOEXEC);
	CHECK(tfd >= 0);
	CHECK_OK(clock_gettime(CLOCK_BOOTTIME, &ts));
	struct itimerspec its = {.it_value = {ts.tv_sec, ts.tv_nsec}};
	its.it_value.tv_sec += 0;
	its.it_value.tv_nsec = (ts.tv_nsec + 20000000) % 1000000000;
	if (ts.tv_nsec + 20000000 >= 1000000000)
		its.it_value.tv_sec++;
	CHECK_OK(timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL));
	struct pollfd p = {.fd = tfd, .events = POLLIN};
	CHECK_EQ(poll(&p, 1, 3000), 1);
	close(tfd);

	// A POSIX timer's absolute expiration is a time of the namespace's
	// clock: 10 s from now, not a day or two away or already past.
	static const clockid_t clocks[] = {CLOCK_MONOTONIC, CLOCK_BOOTTIME};
	for (int i = 0; i < 2; i++) {
		struct sigevent sev = {.sigev_notify = SIGEV_NONE};
		timer_t id;
		CHECK_OK(timer_create(clocks[i], &sev, &id));
		struct itimerspec v = {{0, 0}, {0, 0}}, got;
		CHECK_OK(clock_gettime(clocks[i], &v.it_value));
		v.it_value.tv_sec += 10;
		CHECK_OK(timer_settime(id, TIMER_ABSTIME, &v, NULL));
		CHECK_OK(timer_gettime(id, &got));
		CHECK(got.it_value.tv_sec >= 8 && got.it_value.tv_sec <= 10);
		CHECK_OK(timer_delete(id));
	}
}

static void *idle(void *arg) {
	(void)arg;
	pause();
	return NULL;
}

int main(int argc, char **argv) {
	alarm(20);
	if (argc > 2 && strcmp(argv[2], "exec") == 0) {
		// Re-executed in the namespace: argv[3] holds the parent's
		// readings.
		long long mono, boot, real;
		CHECK(sscanf(argv[3], "%lld,%lld,%lld", &mono, &boot, &real) == 3);
		offset_clocks(mono, boot, real);
		return 0;
	}
	ino_t init = proc_ns_ino("self", "time");
	CHECK(proc_ns_ino("self", "time_for_children") == init);
	uptime_is_boottime();
	char buf[256];
	CHECK(read_text("/proc/self/timens_offsets", buf, sizeof buf) > 0);
	CHECK(strcmp(buf, "monotonic           0         0\nboottime            0         0\n") == 0);

	pid_t pid = XFORK();
	if (pid == 0) {
		CHECK_OK(unshare(CLONE_NEWTIME));
		CHECK(proc_ns_ino("self", "time") == init);
		ino_t new = proc_ns_ino("self", "time_for_children");
		CHECK(new != init);
		CHECK_ERR(write_offsets("realtime 1 0"), EINVAL);
		CHECK_ERR(write_offsets("monotonic 1 1000000000"), EINVAL);
		CHECK_ERR(write_offsets("monotonic x 0"), EINVAL);
		CHECK_ERR(write_offsets("monotonic -9999999999 0"), ERANGE);
		set_cap(CAP_SYS_TIME, 0);
		CHECK_ERR(write_offsets("monotonic 1 0"), EPERM);
		set_cap(CAP_SYS_TIME, 1);
		const char *offs = "monotonic 86400 0\nboottime 172800 0\n";
		CHECK_EQ(write_offsets(offs), (int)strlen(offs));
		CHECK(read_text("/proc/self/timens_offsets", buf, sizeof buf) > 0);
		CHECK(strcmp(buf, "monotonic       86400         0\nboottime       172800         0\n") == 0);
		// The caller's clocks are unchanged.
		long long mono = clk_ns(CLOCK_MONOTONIC, 0), boot = clk_ns(CLOCK_BOOTTIME, 0);
		long long real = clk_ns(CLOCK_REALTIME, 0);
		NEAR(clk_ns(CLOCK_MONOTONIC, 1), mono, 0);

		pid_t gc = XFORK();
		if (gc == 0) {
			CHECK(proc_ns_ino("self", "time") == new);
			CHECK(proc_ns_ino("self", "time_for_children") == new);
			offset_clocks(mono, boot, real);
			deadlines();
			char arg[96];
			snprintf(arg, sizeof arg, "%lld,%lld,%lld", mono, boot, real);
			char *args[] = {argv[0], argv[1] ? argv[1] : "x", "exec", arg, NULL};
			execv("/proc/self/exe", args);
			FAIL("execv (errno %d)", errno);
		}
		WAIT_EXIT(gc, 0);
		// A process joined: the offsets are frozen.
		CHECK_ERR(write_offsets("monotonic 1 0"), EACCES);

		// setns moves the caller's own clocks, and back.
		int tfc = open("/proc/self/ns/time_for_children", O_RDONLY | O_CLOEXEC);
		int cur = open("/proc/self/ns/time", O_RDONLY | O_CLOEXEC);
		CHECK(tfc >= 0 && cur >= 0);
		pthread_t th;
		CHECK_EQ(pthread_create(&th, NULL, idle, NULL), 0);
		CHECK_ERR(setns(tfc, CLONE_NEWTIME), EUSERS);
		pid_t tp = XFORK();
		if (tp == 0) {
			// The fork child has one thread: it may.
			CHECK_ERR(setns(tfc, CLONE_NEWUTS), EINVAL);
			CHECK_OK(setns(tfc, CLONE_NEWTIME));
			CHECK(proc_ns_ino("self", "time") == new);
			offset_clocks(mono, boot, real);
			CHECK_OK(setns(cur, 0));
			CHECK(proc_ns_ino("self", "time") == init);
			CHECK(proc_ns_ino("self", "time_for_children") == init);
			NEAR(clk_ns(CLOCK_MONOTONIC, 0), mono, 0);
			NEAR(clk_ns(CLOCK_BOOTTIME, 1), boot, 0);
			_exit(0);
		}
		WAIT_EXIT(tp, 0);
		_exit(0);
	}
	WAIT_EXIT(pid, 0);
	CHECK(proc_ns_ino("self", "time") == init);
	CHECK(proc_ns_ino("self", "time_for_children") == init);

	// clone3 with CLONE_NEWTIME: a new namespace, its offsets copied from
	// the caller's (none).
	struct clone_args ca;
	memset(&ca, 0, sizeof ca);
	ca.flags = CLONE_NEWTIME;
	ca.exit_signal = SIGCHLD;
	long long mono = clk_ns(CLOCK_MONOTONIC, 0);
	pid = syscall(SYS_clone3, &ca, sizeof ca);
	CHECK(pid >= 0);
	if (pid == 0) {
		ino_t t = proc_ns_ino("self", "time");
		if (t == init || proc_ns_ino("self", "time_for_children") != t)
			_exit(2);
		NEAR(clk_ns(CLOCK_MONOTONIC, 0), mono, 0);
		CHECK_ERR(write_offsets("monotonic 1 0"), EACCES);
		_exit(0);
	}
	WAIT_EXIT(pid, 0);

	pid = XFORK();
	if (pid == 0) {
		set_cap(CAP_SYS_ADMIN, 0);
		CHECK_ERR(unshare(CLONE_NEWTIME), EPERM);
		_exit(0);
	}
	WAIT_EXIT(pid, 0);
	return 0;
}
