// devices: /dev/null reads EOF and swallows writes; /dev/zero reads zeros
// (also via pread) and swallows writes; /dev/urandom returns the requested
// bytes; the three are character devices 1:3, 1:5 and 1:9.
//
//go:build ignore

#include "check.h"
#include <sys/sysmacros.h>

static void chr(int fd, unsigned maj, unsigned min) {
	struct stat st;
	CHECK_EQ(fstat(fd, &st), 0);
	CHECK(S_ISCHR(st.st_mode));
	CHECK_EQ(major(st.st_rdev), maj);
	CHECK_EQ(minor(st.st_rdev), min);
}

int main(void) {
	char buf[4096];
	int n = open("/dev/null", O_RDWR);
	CHECK(n >= 0);
	chr(n, 1, 3);
	CHECK_EQ(read(n, buf, sizeof buf), 0);
	CHECK_EQ(write(n, buf, sizeof buf), sizeof buf);
	CHECK_EQ(pwrite(n, buf, 10, 12345), 10);
	CHECK_EQ(lseek(n, 100, SEEK_SET), 0); // /dev/null ignores seeks

	int z = open("/dev/zero", O_RDWR);
	CHECK(z >= 0);
	chr(z, 1, 5);
	memset(buf, 0xff, sizeof buf);
	CHECK_EQ(read(z, buf, sizeof buf), sizeof buf);
	CHECK_FILL(buf, 0, sizeof buf);
	memset(buf, 0xff, sizeof buf);
	CHECK_EQ(pread(z, buf, 100, 1 << 20), 100);
	CHECK_FILL(buf, 0, 100);
	CHECK_EQ((unsigned char)buf[100], 0xff);
	CHECK_EQ(write(z, "abc", 3), 3);

	int u = open("/dev/urandom", O_RDONLY);
	CHECK(u >= 0);
	chr(u, 1, 9);
	unsigned char r1[64], r2[64];
	CHECK_EQ(read(u, r1, sizeof r1), sizeof r1);
	CHECK_EQ(read(u, r2, sizeof r2), sizeof r2);
	CHECK(memcmp(r1, r2, sizeof r1) != 0);
	int nonzero = 0;
	for (int i = 0; i < 64; i++)
		nonzero += r1[i] != 0;
	CHECK(nonzero > 32);
	static unsigned char huge[1 << 20];
	CHECK_EQ(read(u, huge, sizeof huge), sizeof huge);
	return 0;
}
