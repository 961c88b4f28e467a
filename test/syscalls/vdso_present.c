// vdso_present: every process has a vDSO. AT_SYSINFO_EHDR, the first auxv
// entry, points at a page-aligned 64-bit x86-64 ET_DYN ELF image mapped as
// [vdso], with a read-only PT_DYNAMIC and the soname linux-vdso.so.1. Its
// functions (the __vdso_ names and their unprefixed aliases, version
// LINUX_2.6) resolve through its dynamic symbol table to addresses inside
// the mapping, and work: clock_gettime reads the clock the system call
// reads, gettimeofday and time agree with it, clock_getres answers as the
// system call does.
//
//go:build ignore

#include "vdso_check.h"
#include <sys/time.h>

static const char *names[] = {"clock_gettime", "gettimeofday", "time", "getcpu", "clock_getres"};

int main(void) {
	uintptr_t base = vdso_base();
	CHECK(base != 0);
	CHECK(base % 4096 == 0);

	// AT_SYSINFO_EHDR is the first entry (x86-64's ARCH_DLINFO).
	unsigned long auxv[64] = {0};
	int fd = open("/proc/self/auxv", O_RDONLY);
	CHECK(fd >= 0);
	CHECK(read(fd, auxv, sizeof auxv) >= 32);
	close(fd);
	CHECK_EQ(auxv[0], AT_SYSINFO_EHDR);
	CHECK_EQ(auxv[1], base);

	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)base;
	CHECK(memcmp(eh->e_ident, ELFMAG, SELFMAG) == 0);
	CHECK_EQ(eh->e_ident[EI_CLASS], ELFCLASS64);
	CHECK_EQ(eh->e_ident[EI_DATA], ELFDATA2LSB);
	CHECK_EQ(eh->e_type, ET_DYN);
	CHECK_EQ(eh->e_machine, EM_X86_64);
	CHECK_EQ(eh->e_phentsize, sizeof(Elf64_Phdr));

	unsigned long start, end;
	char perms[5];
	CHECK(vdso_mapping("[vdso]", &start, &end, perms));
	CHECK_EQ(start, base);
	CHECK(strcmp(perms, "r-xp") == 0);

	const Elf64_Phdr *ph = (const Elf64_Phdr *)(base + eh->e_phoff);
	int loads = 0, dynamic = 0;
	const Elf64_Dyn *dyn = NULL;
	for (int i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type == PT_LOAD) {
			loads++;
			CHECK(ph[i].p_offset + ph[i].p_filesz <= end - start);
			CHECK(ph[i].p_flags & PF_X);
		}
		if (ph[i].p_type == PT_DYNAMIC) {
			dynamic++;
			CHECK((ph[i].p_flags & PF_W) == 0);
			dyn = (const Elf64_Dyn *)(base + ph[i].p_offset);
		}
	}
	CHECK_EQ(loads, 1);
	CHECK_EQ(dynamic, 1);
	const char *strtab = NULL;
	long soname = -1;
	for (; dyn->d_tag != DT_NULL; dyn++) {
		if (dyn->d_tag == DT_STRTAB)
			strtab = (const char *)(base + dyn->d_un.d_ptr);
		if (dyn->d_tag == DT_SONAME)
			soname = dyn->d_un.d_val;
	}
	CHECK(strtab != NULL && soname >= 0);
	CHECK(strcmp(strtab + soname, "linux-vdso.so.1") == 0);

	for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++) {
		char prefixed[64];
		snprintf(prefixed, sizeof prefixed, "__vdso_%s", names[i]);
		uintptr_t p = (uintptr_t)vdso_fn(prefixed), q = (uintptr_t)vdso_fn(names[i]);
		if (p != q)
			FAIL("%s at %#lx, %s at %#lx", prefixed, (unsigned long)p, names[i], (unsigned long)q);
		CHECK(p > start && p < end);
	}
	CHECK(vdso_lookup(base, "__vdso_no_such_function") == NULL);

	vdso_clock_fn cg = vdso_fn("__vdso_clock_gettime"), res = vdso_fn("__vdso_clock_getres");
	long long a = sys_ns(CLOCK_MONOTONIC);
	long long v = vdso_ns(cg, CLOCK_MONOTONIC);
	long long b = sys_ns(CLOCK_MONOTONIC);
	CHECK(a <= v && v <= b);

	struct timespec r1, r2;
	CHECK_EQ(res(CLOCK_MONOTONIC, &r1), 0);
	CHECK_OK(syscall(SYS_clock_getres, CLOCK_MONOTONIC, &r2));
	CHECK(r1.tv_sec == r2.tv_sec && r1.tv_nsec == r2.tv_nsec);
	CHECK_EQ(res(CLOCK_MONOTONIC, NULL), 0);
	CHECK_EQ(cg(12345, &r1), -EINVAL);

	vdso_tod_fn tod = vdso_fn("__vdso_gettimeofday");
	vdso_time_fn tm = vdso_fn("__vdso_time");
	struct timeval tv;
	long long before = sys_ns(CLOCK_REALTIME) / 1000;
	CHECK_EQ(tod(&tv, NULL), 0);
	long long after = sys_ns(CLOCK_REALTIME) / 1000;
	long long us = (long long)tv.tv_sec * 1000000 + tv.tv_usec;
	CHECK(before <= us && us <= after);
	long t = -1;
	long r = tm(&t);
	CHECK_EQ(r, t);
	CHECK(r <= sys_ns(CLOCK_REALTIME) / 1000000000LL && r >= before / 1000000 - 1);
	CHECK(tm(NULL) > 0);
	return 0;
}
