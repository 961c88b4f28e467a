// inet_socket_errors: socket(2) argument checks for AF_INET/AF_INET6:
// unknown type flags are EINVAL, a protocol that does not fit the type is
// EPROTONOSUPPORT, SOCK_NONBLOCK/SOCK_CLOEXEC show in fcntl, socketpair
// is EOPNOTSUPP, connect with a wrong family is EAFNOSUPPORT, socket
// calls on a non-socket are ENOTSOCK.
//
//go:build ignore

#include "inet_check.h"

int main(void) {
	CHECK_ERR(socket(AF_INET, SOCK_STREAM | 0x1000, 0), EINVAL);
	CHECK_ERR(socket(AF_INET, SOCK_STREAM, IPPROTO_UDP), EPROTONOSUPPORT);
	CHECK_ERR(socket(AF_INET6, SOCK_DGRAM, IPPROTO_TCP), EPROTONOSUPPORT);
	int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
	CHECK(s >= 0);
	CHECK(fcntl(s, F_GETFL) & O_NONBLOCK);
	CHECK(fcntl(s, F_GETFD) & FD_CLOEXEC);
	struct stat st;
	CHECK_OK(fstat(s, &st));
	CHECK(S_ISSOCK(st.st_mode));
	CHECK_ERR(lseek(s, 0, SEEK_SET), ESPIPE);
	int sv[2];
	CHECK_ERR(socketpair(AF_INET, SOCK_STREAM, 0, sv), EOPNOTSUPP);
	CHECK_ERR(socketpair(AF_INET6, SOCK_DGRAM, 0, sv), EOPNOTSUPP);

	int t = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in6 a6 = lo6(1);
	CHECK_ERR(connect(t, (struct sockaddr *)&a6, sizeof a6), EAFNOSUPPORT);
	struct sockaddr_in a4 = lo4(1);
	CHECK_ERR(connect(t, (struct sockaddr *)&a4, 4), EINVAL);

	int p[2];
	CHECK_OK(pipe(p));
	CHECK_ERR(bind(p[0], (struct sockaddr *)&a4, sizeof a4), ENOTSOCK);
	CHECK_ERR(listen(p[0], 1), ENOTSOCK);
	// A recv on a TCP socket that is not connected.
	char b;
	CHECK_ERR(recv(t, &b, 1, 0), ENOTCONN);
	return 0;
}
