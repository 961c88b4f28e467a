// vdso_fork_exec: fork keeps the vDSO, exec replaces it. A forked child has
// the same AT_SYSINFO_EHDR, its [vdso] there, and working vDSO functions,
// including a private change its parent made to its vDSO page (mprotect
// makes the page writable; the write is copy-on-write). After execve the
// program has a fresh vDSO: one [vdso] mapping, at its new
// AT_SYSINFO_EHDR, that works and does not carry the change.
//
//go:build ignore

#include "vdso_check.h"

// A byte of the ELF identification's padding, which nothing reads.
#define MARK_OFFSET (EI_PAD + 3)

static void check_works(void) {
	vdso_clock_fn cg = vdso_fn("__vdso_clock_gettime");
	long long a = sys_ns(CLOCK_MONOTONIC);
	long long v = vdso_ns(cg, CLOCK_MONOTONIC);
	CHECK(a <= v && v <= sys_ns(CLOCK_MONOTONIC));
	unsigned long start, end;
	CHECK(vdso_mapping("[vdso]", &start, &end, NULL));
	CHECK_EQ(start, vdso_base());
}

int main(int argc, char **argv) {
	if (argc > 2 && strcmp(argv[2], "exec") == 0) {
		// The fresh image.
		check_works();
		CHECK_EQ(((unsigned char *)vdso_base())[MARK_OFFSET], 0);
		return 0;
	}
	check_works();
	uintptr_t base = vdso_base();
	unsigned long start, end;
	CHECK(vdso_mapping("[vdso]", &start, &end, NULL));

	// Change this process's copy of the vDSO page.
	CHECK_OK(mprotect((void *)start, end - start, PROT_READ | PROT_WRITE | PROT_EXEC));
	((volatile unsigned char *)base)[MARK_OFFSET] = 0x5a;
	CHECK_OK(mprotect((void *)start, end - start, PROT_READ | PROT_EXEC));
	check_works();

	pid_t pid = XFORK();
	if (pid == 0) {
		CHECK_EQ(vdso_base(), base);
		check_works();
		CHECK_EQ(((unsigned char *)base)[MARK_OFFSET], 0x5a);
		_exit(0);
	}
	WAIT_EXIT(pid, 0);

	pid = XFORK();
	if (pid == 0)
		reexec(argv, "exec", NULL, NULL);
	WAIT_EXIT(pid, 0);

	// A child that changes its copy leaves the parent's alone.
	pid = XFORK();
	if (pid == 0) {
		CHECK_OK(mprotect((void *)start, end - start, PROT_READ | PROT_WRITE));
		((volatile unsigned char *)base)[MARK_OFFSET] = 0x33;
		_exit(0);
	}
	WAIT_EXIT(pid, 0);
	CHECK_EQ(((unsigned char *)base)[MARK_OFFSET], 0x5a);
	check_works();
	return 0;
}
