// vdso_getcpu: the vDSO's getcpu answers as getcpu(2) and sched_getcpu do.
// Pinned to one CPU of its affinity mask, the program gets the same CPU and
// node from __vdso_getcpu, the system call and sched_getcpu, every time,
// and that CPU is in the mask; either pointer may be NULL, and the call
// returns 0.
//
//go:build ignore

#include "vdso_check.h"

int main(void) {
	vdso_getcpu_fn getcpu = vdso_fn("__vdso_getcpu");
	CHECK(getcpu == vdso_fn("getcpu"));

	cpu_set_t mask;
	CHECK_OK(sched_getaffinity(0, sizeof mask, &mask));
	int first = -1;
	for (int i = 0; i < CPU_SETSIZE && first < 0; i++)
		if (CPU_ISSET(i, &mask))
			first = i;
	CHECK(first >= 0);
	cpu_set_t one;
	CPU_ZERO(&one);
	CPU_SET(first, &one);
	CHECK_OK(sched_setaffinity(0, sizeof one, &one));
	CHECK_OK(sched_getaffinity(0, sizeof mask, &mask));

	for (int i = 0; i < 200; i++) {
		unsigned c1 = 1000, n1 = 1000, c2 = 2000, n2 = 2000;
		CHECK_EQ(getcpu(&c1, &n1, NULL), 0);
		CHECK_OK(syscall(SYS_getcpu, &c2, &n2, NULL));
		if (c1 != c2 || n1 != n2)
			FAIL("vDSO getcpu says CPU %u node %u, the system call CPU %u node %u", c1, n1, c2, n2);
		CHECK_EQ(sched_getcpu(), (int)c1);
		CHECK(CPU_ISSET(c1, &mask));
		if (i % 20 == 0)
			sched_yield();
	}
	unsigned c = 1000, n = 1000;
	CHECK_EQ(getcpu(&c, NULL, NULL), 0);
	CHECK(c != 1000);
	CHECK_EQ(getcpu(NULL, &n, NULL), 0);
	CHECK(n != 1000);
	CHECK_EQ(getcpu(NULL, NULL, NULL), 0);
	return 0;
}
