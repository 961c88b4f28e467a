// inet_tcp_fault_partial: a TCP send or receive whose buffer runs into
// an unmapped page within the first chunk it copies is EFAULT and moves
// nothing (Linux copies a chunk, an skb's worth, at a time and counts
// only whole chunks): a send queues none of it, a receive consumes none
// of the data, which the next read gets whole and in order.
//
//go:build ignore

#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/uio.h>

#include "inet_check.h"

static unsigned char pat(long i) { return (unsigned char)(i * 13 + 1); }

int main(void) {
	long pg = sysconf(_SC_PAGESIZE);
	unsigned char *m = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(m != MAP_FAILED);
	CHECK_OK(munmap(m + pg, pg));
	// Half a page before the hole.
	unsigned char *edge = m + pg - pg / 2;
	memset(edge, 0x5a, pg / 2);

	int c, a;
	tcp_pair(AF_INET, &c, &a);

	CHECK_ERR(write(c, edge, pg), EFAULT);
	CHECK_ERR(write(c, m + pg, 16), EFAULT);
	struct iovec iov[2] = {{edge, pg / 2}, {m + pg, 16}};
	CHECK_ERR(writev(c, iov, 2), EFAULT);

	static unsigned char src[8192], buf[8192];
	for (long i = 0; i < pg; i++)
		src[i] = pat(i);
	CHECK_EQ(write(c, src, pg), pg);
	int q = 0;
	for (int i = 0; i < 2000 && q < pg; i++) {
		CHECK_OK(ioctl(a, FIONREAD, &q));
		if (q < pg)
			usleep(1000);
	}
	// Nothing of the faulting sends arrived.
	CHECK_EQ(q, pg);

	CHECK_ERR(read(a, edge, pg), EFAULT);
	CHECK_ERR(read(a, m + pg, 16), EFAULT);
	CHECK_OK(ioctl(a, FIONREAD, &q));
	CHECK_EQ(q, pg);
	CHECK_EQ(recv(a, buf, sizeof buf, MSG_DONTWAIT), pg);
	for (long i = 0; i < pg; i++)
		CHECK_EQ(buf[i], pat(i));
	CHECK_ERR(recv(a, buf, sizeof buf, MSG_DONTWAIT), EAGAIN);
	return 0;
}
