// sock_busy_poll: the SOL_SOCKET options every socket takes alike that
// Linux keeps without the sandbox acting on them. SO_BUSY_POLL (any
// non-negative time, for anyone), SO_PREFER_BUSY_POLL (a flag; setting
// it takes CAP_NET_ADMIN) and SO_BUSY_POLL_BUDGET (0..65535, raising it
// takes CAP_NET_ADMIN, and it cannot be read) on TCP, UDP, unix and
// netlink sockets; SO_INCOMING_NAPI_ID reads 0 and cannot be set;
// SO_TXREHASH (-1 for the default, which is on, 0 or 1) on TCP sockets
// only (EOPNOTSUPP elsewhere, UDP too); SO_SELECT_ERR_QUEUE, a flag, adds POLLPRI
// to the POLLERR of a UDP socket's queued error.
//
//go:build ignore

#include "inet_check.h"
#include "ns_check.h"

#include <linux/netlink.h>
#include <sys/un.h>

#ifndef SO_PREFER_BUSY_POLL
#define SO_PREFER_BUSY_POLL 69
#endif
#ifndef SO_BUSY_POLL_BUDGET
#define SO_BUSY_POLL_BUDGET 70
#endif
#ifndef SO_TXREHASH
#define SO_TXREHASH 74
#endif

static int sol_get(int s, int name, int *v) {
	socklen_t l = sizeof *v;
	return getsockopt(s, SOL_SOCKET, name, v, &l);
}

static int sol_set(int s, int name, int v) { return setsockopt(s, SOL_SOCKET, name, &v, sizeof v); }

static int new_socket(int kind) {
	switch (kind) {
	case 0:
		return socket(AF_INET, SOCK_STREAM, 0);
	case 1:
		return socket(AF_INET6, SOCK_DGRAM, 0);
	case 2:
		return socket(AF_UNIX, SOCK_STREAM, 0);
	default:
		return socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
	}
}

static void busy_poll(int kind, int admin) {
	int s = new_socket(kind), v;
	CHECK(s >= 0);
	CHECK_OK(sol_get(s, SO_BUSY_POLL, &v));
	CHECK_EQ(v, 0);
	CHECK_OK(sol_set(s, SO_BUSY_POLL, 50));
	CHECK_OK(sol_get(s, SO_BUSY_POLL, &v));
	CHECK_EQ(v, 50);
	CHECK_ERR(sol_set(s, SO_BUSY_POLL, -1), EINVAL);
	short shorter = 1;
	CHECK_ERR(setsockopt(s, SOL_SOCKET, SO_BUSY_POLL, &shorter, sizeof shorter), EINVAL);

	CHECK_OK(sol_get(s, SO_PREFER_BUSY_POLL, &v));
	CHECK_EQ(v, 0);
	if (admin) {
		CHECK_OK(sol_set(s, SO_PREFER_BUSY_POLL, 7));
		CHECK_OK(sol_get(s, SO_PREFER_BUSY_POLL, &v));
		CHECK_EQ(v, 1);
	} else {
		CHECK_ERR(sol_set(s, SO_PREFER_BUSY_POLL, 1), EPERM);
	}
	CHECK_OK(sol_set(s, SO_PREFER_BUSY_POLL, 0));
	CHECK_OK(sol_get(s, SO_PREFER_BUSY_POLL, &v));
	CHECK_EQ(v, 0);

	if (admin) {
		CHECK_OK(sol_set(s, SO_BUSY_POLL_BUDGET, 16));
		CHECK_OK(sol_set(s, SO_BUSY_POLL_BUDGET, 65535));
		CHECK_ERR(sol_set(s, SO_BUSY_POLL_BUDGET, 65536), EINVAL);
	} else {
		// The budget starts at 0: any raise is refused, before the
		// range is checked.
		CHECK_ERR(sol_set(s, SO_BUSY_POLL_BUDGET, 4), EPERM);
		CHECK_ERR(sol_set(s, SO_BUSY_POLL_BUDGET, 65536), EPERM);
		CHECK_OK(sol_set(s, SO_BUSY_POLL_BUDGET, 0));
	}
	CHECK_ERR(sol_set(s, SO_BUSY_POLL_BUDGET, -1), EINVAL);
	CHECK_ERR(sol_get(s, SO_BUSY_POLL_BUDGET, &v), ENOPROTOOPT);

	CHECK_OK(sol_get(s, SO_INCOMING_NAPI_ID, &v));
	CHECK_EQ(v, 0);
	CHECK_ERR(sol_set(s, SO_INCOMING_NAPI_ID, 1), ENOPROTOOPT);

	if (kind == 0) {
		CHECK_OK(sol_get(s, SO_TXREHASH, &v));
		CHECK_EQ(v, 1);
		CHECK_OK(sol_set(s, SO_TXREHASH, 0));
		CHECK_OK(sol_get(s, SO_TXREHASH, &v));
		CHECK_EQ(v, 0);
		CHECK_OK(sol_set(s, SO_TXREHASH, -1));
		CHECK_OK(sol_get(s, SO_TXREHASH, &v));
		CHECK_EQ(v, 1);
		CHECK_ERR(sol_set(s, SO_TXREHASH, 2), EINVAL);
		CHECK_ERR(sol_set(s, SO_TXREHASH, -2), EINVAL);
	} else {
		CHECK_ERR(sol_set(s, SO_TXREHASH, 0), EOPNOTSUPP);
		CHECK_ERR(sol_get(s, SO_TXREHASH, &v), EOPNOTSUPP);
	}

	CHECK_OK(sol_get(s, SO_SELECT_ERR_QUEUE, &v));
	CHECK_EQ(v, 0);
	CHECK_OK(sol_set(s, SO_SELECT_ERR_QUEUE, 5));
	CHECK_OK(sol_get(s, SO_SELECT_ERR_QUEUE, &v));
	CHECK_EQ(v, 1);
	close(s);
}

static void all_kinds(int admin) {
	for (int kind = 0; kind < 4; kind++)
		busy_poll(kind, admin);
}

static void unprivileged(void) {
	set_cap(CAP_NET_ADMIN, 0);
	all_kinds(0);
}

// select_err_queue: a refused datagram's error on the queue is POLLERR,
// and POLLPRI too once SO_SELECT_ERR_QUEUE is set.
static void select_err_queue(void) {
	int port = free_port(AF_INET, SOCK_DGRAM);
	for (int sel = 0; sel <= 1; sel++) {
		int s = socket(AF_INET, SOCK_DGRAM, 0);
		CHECK(s >= 0);
		setint(s, SOL_IP, IP_RECVERR, 1);
		CHECK_OK(sol_set(s, SO_SELECT_ERR_QUEUE, sel));
		CHECK_OK(connect_to(s, AF_INET, port));
		CHECK_EQ(send(s, "hello", 5, 0), 5);
		CHECK(poll1(s, POLLIN, 2000) & POLLERR);
		CHECK_EQ(poll1(s, POLLIN | POLLPRI, 0) & (POLLERR | POLLPRI), sel ? POLLERR | POLLPRI : POLLERR);
		close(s);
	}
}

int main(void) {
	all_kinds(1);
	run_in_child(unprivileged, 10);
	select_err_queue();
	puts("ok");
	return 0;
}
