// fs_pipe_atomic: writes of at most PIPE_BUF bytes to a pipe are atomic:
// two processes each writing many PIPE_BUF-sized records of their own byte
// produce a stream in which every aligned record is uniform (never
// interleaved), and all records arrive.
//
//go:build ignore

#include "fs_check.h"
#include <limits.h>

#define RECORDS 64

static void writer(int fd, char byte) {
	char rec[PIPE_BUF];
	memset(rec, byte, sizeof rec);
	for (int i = 0; i < RECORDS; i++)
		if (write(fd, rec, sizeof rec) != (ssize_t)sizeof rec)
			_exit(1);
	_exit(0);
}

int main(void) {
	CHECK_EQ(PIPE_BUF, 4096);
	int p[2];
	CHECK_OK(pipe(p));
	pid_t a = XFORK();
	if (a == 0) {
		close(p[0]);
		alarm(10);
		writer(p[1], 'A');
	}
	pid_t b = XFORK();
	if (b == 0) {
		close(p[0]);
		alarm(10);
		writer(p[1], 'B');
	}
	close(p[1]);
	alarm(10);
	static char rec[PIPE_BUF];
	int counts[2] = {0, 0};
	for (;;) {
		size_t got = 0;
		while (got < sizeof rec) {
			ssize_t n = read(p[0], rec + got, sizeof rec - got);
			CHECK(n >= 0);
			if (n == 0)
				break;
			got += n;
		}
		if (got == 0)
			break;
		CHECK_EQ(got, sizeof rec);
		CHECK(rec[0] == 'A' || rec[0] == 'B');
		for (size_t i = 1; i < sizeof rec; i++)
			if (rec[i] != rec[0])
				FAIL("record %d mixes %c and %c at %zu", counts[0] + counts[1], rec[0], rec[i], i);
		counts[rec[0] - 'A']++;
	}
	CHECK_EQ(counts[0], RECORDS);
	CHECK_EQ(counts[1], RECORDS);
	WAIT_EXIT(a, 0);
	WAIT_EXIT(b, 0);
	close(p[0]);
	return 0;
}
