// inet_fionread: FIONREAD/SIOCINQ count unread TCP bytes and the first
// queued UDP datagram; FIONBIO turns
// O_NONBLOCK on and off; FIONREAD on a listener is EINVAL.
//
//go:build ignore

#include "inet_check.h"
#include <linux/sockios.h>
#include <sys/ioctl.h>

int main(void) {
	int c, a;
	tcp_pair(AF_INET, &c, &a);
	int n = -1;
	CHECK_OK(ioctl(a, FIONREAD, &n));
	CHECK_EQ(n, 0);
	CHECK_EQ(write(c, "twelve bytes", 12), 12);
	CHECK(poll1(a, POLLIN, 5000) & POLLIN);
	CHECK_OK(ioctl(a, SIOCINQ, &n));
	CHECK_EQ(n, 12);
	char buf[16];
	CHECK_EQ(read(a, buf, 5), 5);
	CHECK_OK(ioctl(a, FIONREAD, &n));
	CHECK_EQ(n, 7);

	int on = 1;
	CHECK_OK(ioctl(a, FIONBIO, &on));
	CHECK(fcntl(a, F_GETFL) & O_NONBLOCK);
	CHECK_EQ(read(a, buf, sizeof buf), 7);
	CHECK_ERR(read(a, buf, sizeof buf), EAGAIN);
	on = 0;
	CHECK_OK(ioctl(a, FIONBIO, &on));
	CHECK(!(fcntl(a, F_GETFL) & O_NONBLOCK));

	int s = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in sa = lo4(0);
	CHECK_OK(bind(s, (struct sockaddr *)&sa, sizeof sa));
	sa = lo4(port_of(s));
	CHECK_EQ(sendto(s, "abc", 3, 0, (struct sockaddr *)&sa, sizeof sa), 3);
	CHECK_EQ(sendto(s, "defgh", 5, 0, (struct sockaddr *)&sa, sizeof sa), 5);
	CHECK(poll1(s, POLLIN, 5000) & POLLIN);
	CHECK_OK(ioctl(s, FIONREAD, &n));
	CHECK_EQ(n, 3);

	int l = listener(AF_INET, 1);
	CHECK_ERR(ioctl(l, FIONREAD, &n), EINVAL);
	return 0;
}
