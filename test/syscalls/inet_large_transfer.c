// inet_large_transfer: 8 MiB through a TCP connection each way between
// two processes, in uneven chunks, checked byte by byte; the receiver
// sees end of file exactly after the last byte.
//
//go:build ignore

#include "inet_check.h"
#include "task_check.h"

#define TOTAL (8 << 20)

static unsigned char pat(size_t i) { return (unsigned char)(i * 7 + (i >> 13)); }

static void sender(int fd) {
	static unsigned char buf[100003];
	size_t off = 0;
	while (off < TOTAL) {
		size_t n = sizeof buf;
		if (n > TOTAL - off)
			n = TOTAL - off;
		for (size_t i = 0; i < n; i++)
			buf[i] = pat(off + i);
		ssize_t w = write(fd, buf, n);
		CHECK(w > 0);
		off += w;
		if ((size_t)w < n)
			off = off; // the loop rewrites the tail from off
	}
	CHECK_OK(shutdown(fd, SHUT_WR));
}

static void receiver(int fd) {
	static unsigned char buf[65536 + 17];
	size_t off = 0;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof buf);
		CHECK(n >= 0);
		if (n == 0)
			break;
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] != pat(off + i))
				FAIL("byte %zu: got %#x want %#x", off + i, buf[i], pat(off + i));
		off += n;
	}
	CHECK_EQ(off, TOTAL);
}

int main(void) {
	int c, a;
	tcp_pair(AF_INET, &c, &a);
	pid_t pid = XFORK();
	if (pid == 0) {
		close(a);
		sender(c);
		receiver(c);
		_exit(0);
	}
	close(c);
	receiver(a);
	sender(a);
	WAIT_EXIT(pid, 0);
	return 0;
}
