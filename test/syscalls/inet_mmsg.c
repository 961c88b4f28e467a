// inet_mmsg: sendmmsg sends several UDP datagrams in one call and stores
// each msg_len; recvmmsg receives them with their lengths and sources;
// MSG_WAITFORONE returns what is there after the first.
//
//go:build ignore

#include "inet_check.h"

int main(void) {
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in sa = lo4(0);
	CHECK_OK(bind(s, (struct sockaddr *)&sa, sizeof sa));
	sa = lo4(port_of(s));
	int c = socket(AF_INET, SOCK_DGRAM, 0);
	CHECK_OK(connect(c, (struct sockaddr *)&sa, sizeof sa));

	char *msgs[3] = {"a", "bb", "ccc"};
	struct iovec iov[3];
	struct mmsghdr mm[3];
	memset(mm, 0, sizeof mm);
	for (int i = 0; i < 3; i++) {
		iov[i].iov_base = msgs[i];
		iov[i].iov_len = i + 1;
		mm[i].msg_hdr.msg_iov = &iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
	}
	CHECK_EQ(sendmmsg(c, mm, 3, 0), 3);
	for (int i = 0; i < 3; i++)
		CHECK_EQ(mm[i].msg_len, i + 1);

	char bufs[4][8];
	struct iovec riov[4];
	struct sockaddr_in from[4];
	struct mmsghdr rm[4];
	memset(rm, 0, sizeof rm);
	for (int i = 0; i < 4; i++) {
		riov[i].iov_base = bufs[i];
		riov[i].iov_len = sizeof bufs[i];
		rm[i].msg_hdr.msg_iov = &riov[i];
		rm[i].msg_hdr.msg_iovlen = 1;
		rm[i].msg_hdr.msg_name = &from[i];
		rm[i].msg_hdr.msg_namelen = sizeof from[i];
	}
	CHECK(poll1(s, POLLIN, 5000) & POLLIN);
	int n = recvmmsg(s, rm, 4, MSG_WAITFORONE, NULL);
	CHECK_EQ(n, 3);
	for (int i = 0; i < 3; i++) {
		CHECK_EQ(rm[i].msg_len, i + 1);
		CHECK_MEM(bufs[i], msgs[i], i + 1);
		CHECK_EQ(rm[i].msg_hdr.msg_namelen, sizeof from[i]);
		CHECK_EQ(ntohs(from[i].sin_port), port_of(c));
	}
	CHECK_ERR(recvmmsg(s, rm, 4, MSG_DONTWAIT, NULL), EAGAIN);
	return 0;
}
