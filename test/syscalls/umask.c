// umask: umask returns the previous mask, keeps only the 0777 bits, and
// the raw syscall behaves the same.
//
//go:build ignore

#include "check.h"

int main(void) {
	mode_t orig = umask(022);
	CHECK_EQ(orig & ~0777, 0);
	CHECK_EQ(umask(077), 022);
	CHECK_EQ(umask(0), 077);
	CHECK_EQ(umask(0xffff), 0);
	CHECK_EQ(umask(0), 0777); // extra bits dropped
	CHECK_EQ(syscall(SYS_umask, 0123), 0);
	CHECK_EQ(syscall(SYS_umask, 0750), 0123);
	CHECK_EQ(umask(orig), 0750);
	CHECK_EQ(umask(orig), orig);
	return 0;
}
