// procfs_uptime: /proc/uptime is "<uptime> <idle>" in seconds with two
// decimals; uptime agrees with CLOCK_BOOTTIME and sysinfo.uptime and grows
// by about the time slept; the process's start time (stat field 22) is not
// after it.
//
//go:build ignore

#include "procfs_check.h"
#include <sys/sysinfo.h>

static double uptime(void) {
	char buf[128];
	READ_PROC("/proc/uptime", buf);
	double up, idle;
	char nl;
	if (sscanf(buf, "%lf %lf%c", &up, &idle, &nl) != 3 || nl != '\n')
		FAIL("malformed /proc/uptime: %s", buf);
	const char *dot = strchr(buf, '.');
	CHECK(dot != NULL && dot[3] == ' ');
	CHECK(idle >= 0);
	return up;
}

int main(void) {
	double u0 = uptime();
	double boot = now_ns(CLOCK_BOOTTIME) / 1e9;
	CHECK(u0 <= boot + 0.02);
	CHECK(boot - u0 < 1.0);
	struct sysinfo si;
	CHECK_OK(sysinfo(&si));
	CHECK(si.uptime >= (long)u0 - 1 && si.uptime <= (long)u0 + 2);
	msleep(120);
	double u1 = uptime();
	CHECK(u1 - u0 >= 0.10);
	CHECK(u1 - u0 < 5.0);
	char st[4096];
	READ_PROC("/proc/self/stat", st);
	double start = (double)stat_field(st, 22, NULL, 0) / sysconf(_SC_CLK_TCK);
	CHECK(start <= u1 + 0.02);
	return 0;
}
