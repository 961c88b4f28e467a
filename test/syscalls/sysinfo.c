// sysinfo: the memory and process counters are self-consistent (free <=
// total, mem_unit >= 1, at least 16 MiB of RAM, at least one process) and
// stay so on a second call; a bad pointer -> EFAULT.
//
//go:build ignore

#include "check.h"
#include <sys/sysinfo.h>

int main(void) {
	struct sysinfo s;
	memset(&s, 0xff, sizeof s);
	CHECK_EQ(sysinfo(&s), 0);
	CHECK(s.mem_unit >= 1);
	CHECK(s.totalram > 0);
	CHECK((unsigned long long)s.totalram * s.mem_unit >= (16ull << 20));
	CHECK(s.freeram <= s.totalram);
	CHECK(s.sharedram <= s.totalram);
	CHECK(s.bufferram <= s.totalram);
	CHECK(s.freeswap <= s.totalswap);
	CHECK(s.freehigh <= s.totalhigh);
	CHECK(s.procs >= 1);
	CHECK(s.uptime >= 0);

	struct sysinfo t;
	CHECK_EQ(syscall(SYS_sysinfo, &t), 0);
	CHECK_EQ(t.totalram, s.totalram);
	CHECK_EQ(t.mem_unit, s.mem_unit);
	CHECK(t.uptime >= s.uptime);
	CHECK_ERR(syscall(SYS_sysinfo, bad_addr()), EFAULT);
	return 0;
}
