// pipe_iov: writev gathers its iovecs into the pipe in order and returns
// the total; readv scatters the bytes over differently sized iovecs; empty
// iovecs and iovcnt 0 are fine; iovcnt > IOV_MAX -> EINVAL.
//
//go:build ignore

#include "check.h"
#include <limits.h>
#include <sys/uio.h>

int main(void) {
	int p[2];
	CHECK_EQ(pipe(p), 0);
	struct iovec w[] = {
		{"abc", 3}, {NULL, 0}, {"defgh", 5}, {"i", 1}, {"jklmnopqrs", 10},
	};
	CHECK_EQ(writev(p[1], w, 5), 19);
	CHECK_EQ(writev(p[1], w, 0), 0);

	char a[4], b[7], c[20];
	struct iovec r[] = {{a, sizeof a}, {b, sizeof b}, {c, sizeof c}};
	CHECK_EQ(readv(p[0], r, 3), 19);
	CHECK_MEM(a, "abcd", 4);
	CHECK_MEM(b, "efghijk", 7);
	CHECK_MEM(c, "lmnopqrs", 8);

	// Reads smaller than the data leave the rest in the pipe.
	CHECK_EQ(writev(p[1], w, 3), 8);
	struct iovec r2[] = {{a, 2}, {b, 3}};
	CHECK_EQ(readv(p[0], r2, 2), 5);
	CHECK_MEM(a, "ab", 2);
	CHECK_MEM(b, "cde", 3);
	CHECK_EQ(read(p[0], c, sizeof c), 3);
	CHECK_MEM(c, "fgh", 3);

	static struct iovec many[IOV_MAX + 1];
	for (int i = 0; i <= IOV_MAX; i++)
		many[i] = (struct iovec){"z", 1};
	CHECK_ERR(writev(p[1], many, IOV_MAX + 1), EINVAL);
	CHECK_EQ(writev(p[1], many, IOV_MAX), IOV_MAX);
	static char sink[IOV_MAX];
	size_t got = 0;
	while (got < IOV_MAX) {
		ssize_t n = read(p[0], sink + got, IOV_MAX - got);
		CHECK(n > 0);
		got += n;
	}
	CHECK_FILL(sink, 'z', IOV_MAX);
	struct iovec bad = {bad_addr(), 1};
	CHECK_ERR(writev(p[1], &bad, 1), EFAULT);
	return 0;
}
