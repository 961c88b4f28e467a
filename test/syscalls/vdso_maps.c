// vdso_maps: /proc/self/maps shows the vDSO as [vdso] (r-xp, at
// AT_SYSINFO_EHDR) with its data pages, a read-only [vvar] among them,
// ending where [vdso] starts; all with offset, device and inode 0. The
// mappings behave as Linux's special mappings: [vvar] can never be made
// writable (EACCES), [vdso] cannot grow (mremap: EFAULT) but can move
// whole, keeping its name; and a program may unmap its vDSO: the mapping is
// gone, the clock system calls still work, and libc, which keeps calling
// the function it found at start-up, dies of SIGSEGV.
//
// Linux 6.15+ built with CONFIG_MSEAL_SYSTEM_MAPPINGS seals these mappings
// (EPERM for mremap and munmap); the program accepts that where it says so.
//
//go:build ignore

#include "vdso_check.h"

// vvar_below returns the [vvar*] mapping ending at addr (Linux 6.13+ has
// [vvar] then [vvar_vclock]; the sandbox a single [vvar]).
static int vvar_below(unsigned long addr, unsigned long *vstart) {
	char maps[1 << 16];
	CHECK(read_text("/proc/self/maps", maps, sizeof maps) > 0);
	unsigned long lowest = addr;
	int found = 0;
	for (int again = 1; again;) {
		again = 0;
		for (char *line = maps; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
			unsigned long s, e;
			char perms[5], name[64] = "";
			if (sscanf(line, "%lx-%lx %4s %*x %*x:%*x %*u %63s", &s, &e, perms, name) == 4 && e == lowest &&
			    strncmp(name, "[vvar", 5) == 0) {
				CHECK(perms[1] == '-');
				lowest = s, found = 1, again = 1;
			}
		}
	}
	*vstart = lowest;
	return found;
}

int main(void) {
	unsigned long vs, ve, ds, de, lowest;
	char perms[5];
	CHECK(vdso_mapping("[vdso]", &vs, &ve, perms));
	CHECK_EQ(vs, vdso_base());
	CHECK(strcmp(perms, "r-xp") == 0);
	CHECK(vdso_mapping("[vvar]", &ds, &de, perms));
	CHECK(strcmp(perms, "r--p") == 0);
	CHECK(vvar_below(vs, &lowest));
	CHECK(lowest == ds);

	// [vvar] stays read-only.
	CHECK_ERR(mprotect((void *)ds, de - ds, PROT_READ | PROT_WRITE), EACCES);
	CHECK_ERR(mprotect((void *)ds, de - ds, PROT_READ | PROT_EXEC), EACCES);
	CHECK_OK(mprotect((void *)ds, de - ds, PROT_READ));

	// [vdso] cannot grow, in place or moving.
	errno = 0;
	void *r = mremap((void *)vs, ve - vs, ve - vs + 4096, MREMAP_MAYMOVE);
	int sealed = r == MAP_FAILED && errno == EPERM;
	if (!sealed) {
		CHECK(r == MAP_FAILED);
		CHECK_EQ(errno, EFAULT);
	}

	no_core();
	// Moved whole, it keeps its name.
	pid_t pid = XFORK();
	if (pid == 0) {
		void *to = mmap(NULL, 1 << 20, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		CHECK(to != MAP_FAILED);
		void *moved = mremap((void *)vs, ve - vs, ve - vs, MREMAP_MAYMOVE | MREMAP_FIXED, to);
		if (sealed) {
			CHECK(moved == MAP_FAILED && errno == EPERM);
			_exit(0);
		}
		CHECK(moved == to);
		unsigned long s, e;
		CHECK(vdso_mapping("[vdso]", &s, &e, NULL));
		CHECK_EQ(s, (unsigned long)to);
		CHECK_EQ(e - s, ve - vs);
		CHECK(vdso_mapping("[vvar]", &s, &e, NULL));
		CHECK_EQ(s, ds);
		_exit(0);
	}
	WAIT_EXIT(pid, 0);

	// Unmapped: gone from maps, the system calls still work.
	pid = XFORK();
	if (pid == 0) {
		int err = munmap((void *)vs, ve - vs);
		if (sealed) {
			CHECK(err == -1 && errno == EPERM);
			_exit(0);
		}
		CHECK_EQ(err, 0);
		unsigned long s, e;
		CHECK(!vdso_mapping("[vdso]", &s, &e, NULL));
		CHECK(vdso_mapping("[vvar]", &s, &e, NULL));
		struct timespec ts;
		CHECK_OK(syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts));
		CHECK(ts.tv_sec > 0 || ts.tv_nsec > 0);
		_exit(0);
	}
	WAIT_EXIT(pid, 0);

	// ...but libc's clock_gettime calls where the vDSO was.
	pid = XFORK();
	if (pid == 0) {
		if (sealed)
			raise(SIGSEGV);
		CHECK_OK(munmap((void *)vs, ve - vs));
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		_exit(0);
	}
	WAIT_KILLED(pid, SIGSEGV);
	return 0;
}
