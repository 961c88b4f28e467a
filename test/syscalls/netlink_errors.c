// netlink_errors: how rtnetlink answers what it cannot serve: a type it
// has no handler for is EOPNOTSUPP (the error echoes the whole request,
// which has the sender's sequence number); NLM_F_ACK asks for an
// acknowledgement (error 0, the request's header only, NLM_F_CAPPED),
// which is all a request without even an rtgenmsg gets;
// a message without NLM_F_REQUEST or a control message is ignored unless
// it asks for an ACK; a GET with a short header is EINVAL; several
// messages in one send are answered in order. MSG_PEEK|MSG_TRUNC tells
// the size of the next datagram, which MSG_TRUNC on a short buffer also
// reports (and msg_flags says MSG_TRUNC). Changes need CAP_NET_ADMIN
// (EPERM). Unsupported socket types are ESOCKTNOSUPPORT, protocols past
// MAX_LINKS EPROTONOSUPPORT; netlink has no socketpair.
//
//go:build ignore

#include "netlink_check.h"
#include <sys/wait.h>

// recv_err reads one datagram that must be a lone NLMSG_ERROR for seq and
// returns it.
static struct nlmsgerr *recv_err(int fd, unsigned seq, int *len) {
	static char buf[8192];
	struct pollfd p = {.fd = fd, .events = POLLIN};
	CHECK_EQ(poll(&p, 1, 5000), 1);
	int n = recv(fd, buf, sizeof buf, 0);
	CHECK(n >= (int)NLMSG_LENGTH(sizeof(struct nlmsgerr)));
	struct nlmsghdr *h = (void *)buf;
	CHECK_EQ(h->nlmsg_len, n);
	CHECK_EQ(h->nlmsg_type, NLMSG_ERROR);
	CHECK_EQ(h->nlmsg_seq, seq);
	CHECK_EQ(h->nlmsg_pid, nl_port(fd));
	*len = n;
	return NLMSG_DATA(h);
}

static int pending(int fd) {
	struct pollfd p = {.fd = fd, .events = POLLIN};
	return poll(&p, 1, 0);
}

int main(void) {
	int fd = nl_open();
	int len;

	// An unknown type: EOPNOTSUPP with the request echoed.
	char payload[8] = "abcdefg";
	nl_send(fd, RTM_MAX + 1, NLM_F_REQUEST, 5, payload, sizeof payload);
	struct nlmsgerr *e = recv_err(fd, 5, &len);
	CHECK_EQ(e->error, -EOPNOTSUPP);
	CHECK_EQ(e->msg.nlmsg_type, RTM_MAX + 1);
	CHECK_EQ(e->msg.nlmsg_seq, 5);
	CHECK_EQ(e->msg.nlmsg_len, NLMSG_LENGTH(sizeof payload));
	CHECK_EQ(len, (int)(NLMSG_LENGTH(sizeof *e) + sizeof payload));
	CHECK_MEM((char *)(e + 1), payload, sizeof payload);
	CHECK_EQ(pending(fd), 0);

	// An acknowledged request: error 0, capped.
	struct rtgenmsg g = {.rtgen_family = AF_UNSPEC};
	nl_send(fd, RTM_GETLINK, NLM_F_REQUEST | NLM_F_ACK, 6, &g, 0);
	e = recv_err(fd, 6, &len);
	CHECK_EQ(e->error, 0); // no payload at all: ignored, then acked
	CHECK_EQ(len, (int)NLMSG_LENGTH(sizeof *e));
	CHECK_EQ(((struct nlmsghdr *)((char *)e - NLMSG_HDRLEN))->nlmsg_flags & NLM_F_CAPPED, NLM_F_CAPPED);

	// Not a request, or a control message: ignored, or acked.
	nl_send(fd, RTM_GETLINK, 0, 7, &g, sizeof g);
	nl_send(fd, NLMSG_NOOP, NLM_F_REQUEST, 8, &g, sizeof g);
	CHECK_EQ(pending(fd), 0);
	nl_send(fd, NLMSG_NOOP, NLM_F_REQUEST | NLM_F_ACK, 9, &g, sizeof g);
	CHECK_EQ(recv_err(fd, 9, &len)->error, 0);

	// A GET of one link with less than an ifinfomsg: EINVAL.
	nl_send(fd, RTM_GETLINK, NLM_F_REQUEST, 10, &g, sizeof g);
	CHECK_EQ(recv_err(fd, 10, &len)->error, -EINVAL);

	// Two messages in one send: answered in order.
	char two[2 * NLMSG_SPACE(sizeof g)];
	memset(two, 0, sizeof two);
	for (int i = 0; i < 2; i++) {
		struct nlmsghdr *h = (void *)(two + i * NLMSG_SPACE(sizeof g));
		h->nlmsg_len = NLMSG_LENGTH(sizeof g);
		h->nlmsg_type = RTM_MAX + 1;
		h->nlmsg_flags = NLM_F_REQUEST;
		h->nlmsg_seq = 20 + i;
		*(struct rtgenmsg *)NLMSG_DATA(h) = g;
	}
	CHECK_EQ(send(fd, two, sizeof two, 0), sizeof two);
	CHECK_EQ(recv_err(fd, 20, &len)->error, -EOPNOTSUPP);
	CHECK_EQ(recv_err(fd, 21, &len)->error, -EOPNOTSUPP);

	// Sizing a datagram: MSG_PEEK|MSG_TRUNC returns its length and
	// keeps it; MSG_TRUNC on a short buffer reports it and drops it.
	nl_dump(fd, RTM_GETLINK, 30, &g, sizeof g);
	char small[16];
	struct pollfd p = {.fd = fd, .events = POLLIN};
	CHECK_EQ(poll(&p, 1, 5000), 1);
	int size = recv(fd, small, sizeof small, MSG_PEEK | MSG_TRUNC);
	CHECK(size > (int)sizeof small);
	CHECK_EQ(recv(fd, small, sizeof small, MSG_PEEK | MSG_TRUNC), size);
	struct iovec iov = {.iov_base = small, .iov_len = sizeof small};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
	CHECK_EQ(recvmsg(fd, &m, MSG_PEEK), sizeof small);
	CHECK(m.msg_flags & MSG_TRUNC);
	char *big = malloc(size);
	CHECK_EQ(recv(fd, big, size, 0), size);
	struct nlmsghdr *h = (void *)big;
	CHECK_EQ(h->nlmsg_type, RTM_NEWLINK);
	CHECK_EQ(h->nlmsg_seq, 30);
	// Drain the dump, peeking at each batch first.
	for (;;) {
		CHECK_EQ(poll(&p, 1, 5000), 1);
		size = recv(fd, small, sizeof small, MSG_PEEK | MSG_TRUNC);
		CHECK(size >= (int)NLMSG_HDRLEN);
		big = realloc(big, size);
		CHECK_EQ(recv(fd, big, size, 0), size);
		if (((struct nlmsghdr *)big)->nlmsg_type == NLMSG_DONE)
			break;
	}
	// A truncating read loses the rest of its datagram.
	nl_send(fd, RTM_MAX + 1, NLM_F_REQUEST, 31, payload, sizeof payload);
	CHECK_EQ(poll(&p, 1, 5000), 1);
	int whole = recv(fd, small, sizeof small, MSG_TRUNC);
	CHECK(whole > (int)sizeof small);
	CHECK_EQ(pending(fd), 0);
	free(big);

	// Changes without CAP_NET_ADMIN: EPERM.
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		if (getuid() == 0 && setuid(65534) != 0)
			_exit(2);
		int u = nl_open();
		struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_index = 1, .ifi_flags = IFF_UP, .ifi_change = IFF_UP};
		nl_send(u, RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, 40, &ifi, sizeof ifi);
		_exit(recv_err(u, 40, &len)->error == -EPERM ? 0 : 1);
	}
	int st;
	CHECK_EQ(waitpid(pid, &st, 0), pid);
	CHECK_EQ(st, 0);

	CHECK_ERR(socket(AF_NETLINK, SOCK_STREAM, NETLINK_ROUTE), ESOCKTNOSUPPORT);
	CHECK_ERR(socket(AF_NETLINK, SOCK_SEQPACKET, NETLINK_ROUTE), ESOCKTNOSUPPORT);
	CHECK_ERR(socket(AF_NETLINK, SOCK_RAW, 32), EPROTONOSUPPORT);
	CHECK_ERR(socket(AF_NETLINK, SOCK_RAW, -1), EPROTONOSUPPORT);
	int d = socket(AF_NETLINK, SOCK_DGRAM, NETLINK_ROUTE);
	CHECK(d >= 0);
	close(d);
	int sv[2];
	CHECK_ERR(socketpair(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE, sv), EOPNOTSUPP);
	return 0;
}
