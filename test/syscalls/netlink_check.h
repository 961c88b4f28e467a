// netlink_check.h: helpers shared by the netlink_* differential tests:
// rtnetlink requests, and the replies gathered until NLMSG_DONE or an
// NLMSG_ERROR.
#ifndef COCOON_TEST_NETLINK_CHECK_H
#define COCOON_TEST_NETLINK_CHECK_H

#include "check.h"
#include <arpa/inet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <poll.h>
#include <sys/socket.h>

// nl_open returns a bound NETLINK_ROUTE socket.
static inline int nl_open(void) {
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	CHECK(fd >= 0);
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
	CHECK_OK(bind(fd, (struct sockaddr *)&sa, sizeof sa));
	return fd;
}

// nl_port returns the socket's port ID.
static inline unsigned nl_port(int fd) {
	struct sockaddr_nl sa;
	socklen_t l = sizeof sa;
	CHECK_OK(getsockname(fd, (struct sockaddr *)&sa, &l));
	CHECK_EQ(l, sizeof sa);
	return sa.nl_pid;
}

// nl_send sends one request: header type/flags/seq and len bytes of
// payload.
static inline void nl_send(int fd, int type, int flags, unsigned seq, const void *payload, size_t len) {
	char buf[4096];
	struct nlmsghdr *h = (void *)buf;
	CHECK(NLMSG_SPACE(len) <= sizeof buf);
	memset(buf, 0, sizeof buf);
	h->nlmsg_len = NLMSG_LENGTH(len);
	h->nlmsg_type = type;
	h->nlmsg_flags = flags;
	h->nlmsg_seq = seq;
	if (len)
		memcpy(NLMSG_DATA(h), payload, len);
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
	CHECK_EQ(sendto(fd, buf, h->nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof kernel), h->nlmsg_len);
}

// nl_dump sends a dump request of type with the fixed header payload.
static inline void nl_dump(int fd, int type, unsigned seq, const void *payload, size_t len) {
	nl_send(fd, type, NLM_F_REQUEST | NLM_F_DUMP, seq, payload, len);
}

// nl_reply_fn is called on each reply message of nl_collect.
typedef void (*nl_reply_fn)(struct nlmsghdr *h, void *arg);

// nl_collect reads the replies to request seq until NLMSG_DONE (returns
// the error it carries, which it must: 0, or why the dump failed, which
// Linux reports there rather than in an NLMSG_ERROR) or an NLMSG_ERROR
// (returns its error, 0 for an acknowledgement), checking each message's
// sequence number and port ID; fn sees the other messages. Every read is
// bounded by a poll.
static inline int nl_collect(int fd, unsigned seq, nl_reply_fn fn, void *arg) {
	static char buf[65536];
	unsigned port = nl_port(fd);
	for (int reads = 0; reads < 10000; reads++) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		CHECK_EQ(poll(&p, 1, 5000), 1);
		ssize_t n = recv(fd, buf, sizeof buf, 0);
		CHECK(n > 0);
		for (struct nlmsghdr *h = (void *)buf; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
			CHECK_EQ(h->nlmsg_seq, seq);
			CHECK_EQ(h->nlmsg_pid, port);
			if (h->nlmsg_type == NLMSG_DONE) {
				CHECK_EQ(h->nlmsg_flags & NLM_F_MULTI, NLM_F_MULTI);
				CHECK(h->nlmsg_len >= NLMSG_LENGTH(sizeof(int)));
				return *(int *)NLMSG_DATA(h);
			}
			if (h->nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr *e = NLMSG_DATA(h);
				return e->error;
			}
			fn(h, arg);
		}
	}
	FAIL("no NLMSG_DONE");
}

// rta_get returns the attribute of type in the attributes after a fixed
// header of hdrlen bytes, or NULL.
static inline struct rtattr *rta_get(struct nlmsghdr *h, size_t hdrlen, int type) {
	int len = h->nlmsg_len - NLMSG_LENGTH(hdrlen);
	CHECK(len >= 0);
	for (struct rtattr *a = (void *)((char *)NLMSG_DATA(h) + NLMSG_ALIGN(hdrlen)); RTA_OK(a, len); a = RTA_NEXT(a, len))
		if ((a->rta_type & NLA_TYPE_MASK) == type)
			return a;
	return NULL;
}

// rta_u32 returns a 32-bit attribute, which must be there.
static inline unsigned rta_u32(struct nlmsghdr *h, size_t hdrlen, int type) {
	struct rtattr *a = rta_get(h, hdrlen, type);
	if (!a)
		FAIL("attribute %d missing from message type %d", type, h->nlmsg_type);
	CHECK_EQ(RTA_PAYLOAD(a), 4);
	return *(unsigned *)RTA_DATA(a);
}

#endif
