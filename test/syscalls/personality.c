// personality: personality(0xffffffff) reads the persona without changing
// it; setting one returns the previous value; flags such as
// ADDR_NO_RANDOMIZE are kept, inherited by fork and kept across execve;
// PER_LINUX32 is accepted as a value to store.
//
//go:build ignore

#include "task_check.h"
#include <sys/personality.h>

int main(int argc, char **argv) {
	if (argc > 2 && strcmp(argv[2], "after-exec") == 0)
		return personality(0xffffffff) == (PER_LINUX | ADDR_NO_RANDOMIZE) ? 0 : 1;

	int orig = personality(0xffffffff);
	CHECK(orig >= 0);
	CHECK_EQ(personality(0xffffffff), orig);
	CHECK_EQ(orig & PER_MASK, PER_LINUX);
	pid_t pid = XFORK();
	if (pid == 0) {
		CHECK_EQ(personality(PER_LINUX | ADDR_NO_RANDOMIZE), orig);
		CHECK_EQ(personality(0xffffffff), PER_LINUX | ADDR_NO_RANDOMIZE);
		pid_t gc = XFORK();
		if (gc == 0)
			_exit(personality(0xffffffff) == (PER_LINUX | ADDR_NO_RANDOMIZE) ? 0 : 1);
		WAIT_EXIT(gc, 0);
		reexec(argv, "after-exec", NULL, NULL);
	}
	WAIT_EXIT(pid, 0);
	CHECK_EQ(personality(0xffffffff), orig); // ours is unchanged

	pid = XFORK();
	if (pid == 0) {
		CHECK_EQ(personality(PER_LINUX32), orig);
		CHECK_EQ(personality(0xffffffff), PER_LINUX32);
		CHECK_EQ(personality(PER_LINUX), PER_LINUX32);
		_exit(0);
	}
	WAIT_EXIT(pid, 0);
	return 0;
}
