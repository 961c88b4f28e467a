// vdso_check.h: finds functions in the vDSO the kernel mapped, by parsing
// its ELF image through its dynamic section as libc and the Go runtime do
// (after Linux's tools/testing/selftests/vDSO/parse_vdso.c), and reads the
// vDSO's mappings from /proc/self/maps.
#ifndef COCOON_TEST_VDSO_CHECK_H
#define COCOON_TEST_VDSO_CHECK_H

#include "task_check.h"
#include <elf.h>
#include <sys/auxv.h>

// The vDSO's functions, called directly (they return -errno on failure,
// as the raw system calls do).
typedef long (*vdso_clock_fn)(clockid_t, struct timespec *);
typedef long (*vdso_tod_fn)(struct timeval *, void *);
typedef long (*vdso_time_fn)(long *);
typedef long (*vdso_getcpu_fn)(unsigned *, unsigned *, void *);

static inline uintptr_t vdso_base(void) { return getauxval(AT_SYSINFO_EHDR); }

// vdso_lookup returns the address of the defined function name with version
// LINUX_2.6 in the vDSO at base, or NULL.
static inline void *vdso_lookup(uintptr_t base, const char *name) {
	if (base == 0)
		return NULL;
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)base;
	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0)
		FAIL("vDSO at %#lx has no ELF magic", (unsigned long)base);
	const Elf64_Phdr *ph = (const Elf64_Phdr *)(base + eh->e_phoff);
	uintptr_t load = 0;
	const Elf64_Dyn *dyn = NULL;
	int found_load = 0;
	for (int i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type == PT_LOAD && !found_load) {
			load = base + ph[i].p_offset - ph[i].p_vaddr;
			found_load = 1;
		} else if (ph[i].p_type == PT_DYNAMIC) {
			dyn = (const Elf64_Dyn *)(base + ph[i].p_offset);
		}
	}
	if (!found_load || !dyn)
		FAIL("vDSO without PT_LOAD or PT_DYNAMIC");
	const char *strtab = NULL;
	const Elf64_Sym *symtab = NULL;
	const Elf32_Word *hash = NULL;
	const Elf64_Versym *versym = NULL;
	const Elf64_Verdef *verdef = NULL;
	for (; dyn->d_tag != DT_NULL; dyn++) {
		switch (dyn->d_tag) {
		case DT_STRTAB: strtab = (const char *)(load + dyn->d_un.d_ptr); break;
		case DT_SYMTAB: symtab = (const Elf64_Sym *)(load + dyn->d_un.d_ptr); break;
		case DT_HASH: hash = (const Elf32_Word *)(load + dyn->d_un.d_ptr); break;
		case DT_VERSYM: versym = (const Elf64_Versym *)(load + dyn->d_un.d_ptr); break;
		case DT_VERDEF: verdef = (const Elf64_Verdef *)(load + dyn->d_un.d_ptr); break;
		}
	}
	if (!strtab || !symtab || !hash || !versym || !verdef)
		FAIL("vDSO dynamic section lacks a table");
	Elf32_Word nsyms = hash[1]; // nchain
	for (Elf32_Word i = 1; i < nsyms; i++) {
		const Elf64_Sym *s = &symtab[i];
		if (ELF64_ST_TYPE(s->st_info) != STT_FUNC || s->st_shndx == SHN_UNDEF || strcmp(strtab + s->st_name, name) != 0)
			continue;
		unsigned ndx = versym[i] & 0x7fff;
		for (const Elf64_Verdef *d = verdef;; d = (const Elf64_Verdef *)((const char *)d + d->vd_next)) {
			if (!(d->vd_flags & VER_FLG_BASE) && d->vd_ndx == ndx) {
				const Elf64_Verdaux *aux = (const Elf64_Verdaux *)((const char *)d + d->vd_aux);
				if (strcmp(strtab + aux->vda_name, "LINUX_2.6") == 0)
					return (void *)(load + s->st_value);
				break;
			}
			if (d->vd_next == 0)
				break;
		}
	}
	return NULL;
}

// vdso_fn looks name up in this process's vDSO; the test fails without it.
static inline void *vdso_fn(const char *name) {
	void *p = vdso_lookup(vdso_base(), name);
	if (!p)
		FAIL("%s not found in the vDSO at %#lx", name, (unsigned long)vdso_base());
	return p;
}

// vdso_mapping finds the /proc/self/maps line named exactly name (the
// first one); it returns 0 when there is none.
static inline int vdso_mapping(const char *name, unsigned long *start, unsigned long *end, char perms[5]) {
	static char maps[1 << 16];
	if (read_text("/proc/self/maps", maps, sizeof maps) < 0)
		FAIL("reading /proc/self/maps (errno %d %s)", errno, errname(errno));
	for (char *line = maps; *line;) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = 0;
		char p[5] = "", path[256] = "";
		unsigned long s, e, off;
		unsigned dmaj, dmin;
		unsigned long ino;
		int n = sscanf(line, "%lx-%lx %4s %lx %x:%x %lu %255s", &s, &e, p, &off, &dmaj, &dmin, &ino, path);
		if (n == 8 && strcmp(path, name) == 0) {
			if (off != 0 || dmaj != 0 || dmin != 0 || ino != 0)
				FAIL("%s: offset %lx device %x:%x inode %lu, want 0", name, off, dmaj, dmin, ino);
			*start = s, *end = e;
			if (perms)
				memcpy(perms, p, 5);
			return 1;
		}
		if (!nl)
			break;
		line = nl + 1;
	}
	return 0;
}

static inline long long vdso_ns(vdso_clock_fn fn, clockid_t c) {
	struct timespec t;
	long r = fn(c, &t);
	if (r != 0)
		FAIL("vDSO clock_gettime(%d) = %ld", (int)c, r);
	if (t.tv_nsec < 0 || t.tv_nsec >= 1000000000L)
		FAIL("vDSO clock %d: tv_nsec %ld out of range", (int)c, t.tv_nsec);
	return ts_ns(t);
}

static inline long long sys_ns(clockid_t c) {
	struct timespec t;
	if (syscall(SYS_clock_gettime, c, &t) != 0)
		FAIL("clock_gettime(%d) system call (errno %d %s)", (int)c, errno, errname(errno));
	return ts_ns(t);
}

#endif
