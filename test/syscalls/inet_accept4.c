// inet_accept4: accept4 applies SOCK_NONBLOCK and SOCK_CLOEXEC to the new
// descriptor (and only to it), rejects other flags with EINVAL; a
// non-blocking listener without connections says EAGAIN; accept on a
// socket that is not listening is EINVAL.
//
//go:build ignore

#include "inet_check.h"

int main(void) {
	int l = listener(AF_INET, 4);
	int c1 = socket(AF_INET, SOCK_STREAM, 0);
	int c2 = socket(AF_INET, SOCK_STREAM, 0);
	CHECK_OK(connect_to(c1, AF_INET, port_of(l)));
	CHECK_OK(connect_to(c2, AF_INET, port_of(l)));

	CHECK_ERR(accept4(l, NULL, NULL, 0x40000000), EINVAL);
	int a1 = accept4(l, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	CHECK(a1 >= 0);
	CHECK(fcntl(a1, F_GETFL) & O_NONBLOCK);
	CHECK(fcntl(a1, F_GETFD) & FD_CLOEXEC);
	CHECK(!(fcntl(l, F_GETFL) & O_NONBLOCK));
	int a2 = accept4(l, NULL, NULL, 0);
	CHECK(a2 >= 0);
	CHECK(!(fcntl(a2, F_GETFL) & O_NONBLOCK));
	CHECK(!(fcntl(a2, F_GETFD) & FD_CLOEXEC));
	char b;
	CHECK_ERR(read(a1, &b, 1), EAGAIN);

	CHECK_OK(fcntl(l, F_SETFL, O_NONBLOCK));
	CHECK_ERR(accept(l, NULL, NULL), EAGAIN);

	int u = socket(AF_INET, SOCK_STREAM, 0);
	CHECK_ERR(accept(u, NULL, NULL), EINVAL);
	int d = socket(AF_INET, SOCK_DGRAM, 0);
	CHECK_ERR(accept(d, NULL, NULL), EOPNOTSUPP);
	CHECK_ERR(listen(d, 1), EOPNOTSUPP);

	// A truncated address buffer gets the full length back.
	int c3 = socket(AF_INET, SOCK_STREAM, 0);
	CHECK_OK(connect_to(c3, AF_INET, port_of(l)));
	CHECK(poll1(l, POLLIN, 5000) & POLLIN);
	char small[4];
	socklen_t sl = sizeof small;
	int a3 = accept(l, (struct sockaddr *)small, &sl);
	CHECK(a3 >= 0);
	CHECK_EQ(sl, sizeof(struct sockaddr_in));
	return 0;
}
