// net_sysctl_tcp: the sysctls that tune a namespace's TCP, its default TTL,
// a new AF_INET6 socket's IPV6_V6ONLY and a new unix datagram socket's
// queue. In a fresh namespace they read Linux's defaults (tcp_tw_reuse 2,
// tcp_retries2 15, tcp_moderate_rcvbuf 1, tcp_recovery 1, tcp_rto_min_us
// 200000, tcp_rto_max_ms 120000, ip_default_ttl 64, bindv6only 0,
// max_dgram_qlen 10) and take Linux's bounds. Each then does what Linux
// does with it:
// - ip_default_ttl is a new socket's IP_TTL and the TTL its datagrams
//   arrive with, unless the socket sets its own;
// - bindv6only is the IPV6_V6ONLY of AF_INET6 sockets made after, so a
//   listener on [::] no longer takes IPv4 connections;
// - tcp_tw_reuse decides whether connect may take the one ephemeral port
//   a connection in TIME-WAIT holds (a second after its last timestamp):
//   not at 0 (EADDRNOTAVAIL), on loopback at 2, anywhere at 1;
// - tcp_rto_min_us is the floor of a new connection's retransmission
//   timeout (TCP_INFO's tcpi_rto), and tcp_rto_max_ms its ceiling;
// - max_dgram_qlen bounds the queue of unix datagram sockets made after:
//   a sender that is not connected back finds it full past that many
//   datagrams (EAGAIN), and -1 is no bound.
//
//go:build ignore

#include "inet_check.h"
#include "net_sysctl_check.h"
#include <netinet/tcp.h>
#include <stddef.h>
#include <sys/un.h>

static const struct sysctl_step steps[] = {
	{"net/ipv4/tcp_tw_reuse", NULL, 0, "2"},
	{"net/ipv4/tcp_retries2", NULL, 0, "15"},
	{"net/ipv4/tcp_moderate_rcvbuf", NULL, 0, "1"},
	{"net/ipv4/tcp_recovery", NULL, 0, "1"},
	{"net/ipv4/tcp_rto_min_us", NULL, 0, "200000"},
	{"net/ipv4/tcp_rto_max_ms", NULL, 0, "120000"},
	{"net/ipv4/ip_default_ttl", NULL, 0, "64"},
	{"net/ipv6/bindv6only", NULL, 0, "0"},
	{"net/unix/max_dgram_qlen", NULL, 0, "10"},

	{"net/ipv4/tcp_tw_reuse", "3", EINVAL, NULL},
	{"net/ipv4/tcp_tw_reuse", "-1", EINVAL, "2"},
	{"net/ipv4/tcp_retries2", "256", EINVAL, NULL},
	{"net/ipv4/tcp_retries2", "8", 0, "8"},
	{"net/ipv4/tcp_moderate_rcvbuf", "0", 0, "0"},
	{"net/ipv4/tcp_moderate_rcvbuf", "256", EINVAL, "0"},
	{"net/ipv4/tcp_moderate_rcvbuf", "1", 0, "1"},
	{"net/ipv4/tcp_recovery", "5", 0, "5"},
	{"net/ipv4/tcp_recovery", "1", 0, "1"},
	{"net/ipv4/tcp_rto_min_us", "0", EINVAL, NULL},
	{"net/ipv4/tcp_rto_max_ms", "999", EINVAL, NULL},
	{"net/ipv4/tcp_rto_max_ms", "120001", EINVAL, "120000"},
	{"net/ipv4/ip_default_ttl", "0", EINVAL, NULL},
	{"net/ipv4/ip_default_ttl", "256", EINVAL, "64"},
	{"net/ipv6/bindv6only", "256", EINVAL, "0"},
	{"net/unix/max_dgram_qlen", "-1", 0, "-1"},
	{"net/unix/max_dgram_qlen", "10", 0, "10"},
};

// received_ttl sends a datagram from a new UDP socket (with IP_TTL ttl
// unless 0) to one with IP_RECVTTL and returns the TTL it arrived with.
static int received_ttl(int ttl) {
	int r = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	CHECK(r >= 0 && s >= 0);
	bind_lo(r, AF_INET, 0);
	setint(r, IPPROTO_IP, IP_RECVTTL, 1);
	if (ttl)
		setint(s, IPPROTO_IP, IP_TTL, ttl);
	struct sockaddr_in to = lo4(port_of(r));
	CHECK_EQ(sendto(s, "t", 1, 0, (struct sockaddr *)&to, sizeof to), 1);
	char b, ctl[CMSG_SPACE(sizeof(int))];
	struct iovec iov = {&b, 1};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl};
	CHECK_EQ(recvmsg(r, &m, 0), 1);
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	CHECK(c != NULL && c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TTL);
	int got;
	memcpy(&got, CMSG_DATA(c), sizeof got);
	close(r);
	close(s);
	return got;
}

static void default_ttl(void) {
	SYSCTL_SET("net/ipv4/ip_default_ttl", "33");
	int u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), t = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(u >= 0 && t >= 0);
	CHECK_EQ(getint(u, IPPROTO_IP, IP_TTL), 33);
	CHECK_EQ(getint(t, IPPROTO_IP, IP_TTL), 33);
	CHECK_EQ(received_ttl(0), 33);
	CHECK_EQ(received_ttl(7), 7);
	SYSCTL_SET("net/ipv4/ip_default_ttl", "64");
	// A socket that set none follows the sysctl.
	CHECK_EQ(getint(u, IPPROTO_IP, IP_TTL), 64);
	CHECK_EQ(received_ttl(0), 64);
	close(u);
	close(t);
}

static void bind_v6_only(void) {
	int before = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(before >= 0);
	CHECK_EQ(getint(before, IPPROTO_IPV6, IPV6_V6ONLY), 0);
	SYSCTL_SET("net/ipv6/bindv6only", "1");
	int l = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0), u = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	CHECK(l >= 0 && u >= 0);
	CHECK_EQ(getint(l, IPPROTO_IPV6, IPV6_V6ONLY), 1);
	CHECK_EQ(getint(u, IPPROTO_IPV6, IPV6_V6ONLY), 1);
	CHECK_EQ(getint(before, IPPROTO_IPV6, IPV6_V6ONLY), 0);
	// A listener on [::] takes IPv6 connections only.
	struct sockaddr_in6 any = {.sin6_family = AF_INET6, .sin6_addr = in6addr_any};
	CHECK_OK(bind(l, (struct sockaddr *)&any, sizeof any));
	CHECK_OK(listen(l, 4));
	int c4 = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), c6 = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(c4 >= 0 && c6 >= 0);
	CHECK_ERR(connect_to(c4, AF_INET, port_of(l)), ECONNREFUSED);
	CHECK_OK(connect_to(c6, AF_INET6, port_of(l)));
	// A socket may still choose otherwise.
	setint(u, IPPROTO_IPV6, IPV6_V6ONLY, 0);
	CHECK_EQ(getint(u, IPPROTO_IPV6, IPV6_V6ONLY), 0);
	SYSCTL_SET("net/ipv6/bindv6only", "0");
	int after = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(after >= 0);
	CHECK_EQ(getint(after, IPPROTO_IPV6, IPV6_V6ONLY), 0);
	close(before);
	close(l);
	close(u);
	close(c4);
	close(c6);
	close(after);
}

// time_wait_on_port leaves a connection from loopback port to the
// listener l in TIME-WAIT on the client's side, the only ephemeral port,
// and waits past the second gVisor and Linux (tcp_tw_reuse_delay) let
// pass before reusing it.
static void time_wait_on_port(int l, int port) {
	int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(c >= 0);
	CHECK_OK(connect_to(c, AF_INET, port_of(l)));
	CHECK_EQ(port_of(c), port);
	int a = accept(l, NULL, NULL);
	CHECK(a >= 0);
	// The client closes first; the server's FIN follows its EOF, so
	// the client ends in TIME-WAIT.
	CHECK_OK(shutdown(c, SHUT_WR));
	char b;
	CHECK_EQ(read(a, &b, 1), 0);
	close(a);
	CHECK_EQ(read(c, &b, 1), 0);
	close(c);
	usleep(1200 * 1000);
}

// connect_once connects a new socket to l and returns 0 or the errno.
static int connect_once(int l) {
	int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(c >= 0);
	int e = connect_to(c, AF_INET, port_of(l)) == 0 ? 0 : errno;
	if (e == 0) {
		int a = accept(l, NULL, NULL);
		CHECK(a >= 0);
		close(a);
	}
	close(c);
	return e;
}

static void tw_reuse(void) {
	SYSCTL_SET("net/ipv4/ip_local_port_range", "40000 40000");
	static const struct {
		const char *reuse;
		int err;
	} cases[] = {{"0", EADDRNOTAVAIL}, {"2", 0}, {"1", 0}};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		SYSCTL_SET("net/ipv4/tcp_tw_reuse", cases[i].reuse);
		// A listener of its own (on a port outside the range), so
		// that the connections of the case before, whose last ACKs
		// the sandbox's loopback may still carry after close returns,
		// have another peer.
		int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		CHECK(l >= 0);
		bind_lo(l, AF_INET, 41000 + i);
		CHECK_OK(listen(l, 4));
		time_wait_on_port(l, 40000);
		int e = connect_once(l);
		if (e != cases[i].err)
			FAIL("tcp_tw_reuse %s: connect's errno %d, want %d", cases[i].reuse, e, cases[i].err);
		close(l);
	}
	SYSCTL_SET("net/ipv4/tcp_tw_reuse", "2");
	SYSCTL_SET("net/ipv4/ip_local_port_range", "32768 60999");
}

// new_connection_rto returns tcpi_rto, in microseconds, of a new loopback
// connection's client.
static long new_connection_rto(void) {
	int c, a;
	tcp_pair(AF_INET, &c, &a);
	struct tcp_info ti;
	socklen_t len = sizeof ti;
	CHECK_OK(getsockopt(c, IPPROTO_TCP, TCP_INFO, &ti, &len));
	close(c);
	close(a);
	return ti.tcpi_rto;
}

#define RTO_IN(lo, hi)                                                          \
	do {                                                                    \
		long rto_ = new_connection_rto();                               \
		if (rto_ < (lo) || rto_ > (hi))                                 \
			FAIL("tcpi_rto %ld us, want %ld to %ld", rto_, (long)(lo), (long)(hi)); \
	} while (0)

static void rto_bounds(void) {
	// On loopback the measured round trip adds little to the floor.
	RTO_IN(200000, 260000);
	SYSCTL_SET("net/ipv4/tcp_rto_min_us", "400000");
	RTO_IN(400000, 460000);
	SYSCTL_SET("net/ipv4/tcp_rto_min_us", "2000000");
	SYSCTL_SET("net/ipv4/tcp_rto_max_ms", "1000");
	// A floor above the ceiling: Linux reports the floor and arms its
	// timer at the ceiling; the sandbox's stack takes the ceiling for
	// both.
	RTO_IN(1000000, 2000000);
	SYSCTL_SET("net/ipv4/tcp_rto_max_ms", "120000");
	SYSCTL_SET("net/ipv4/tcp_rto_min_us", "200000");
	RTO_IN(200000, 260000);
}

// dgram_receiver returns a unix datagram socket bound to abstract name n.
static int dgram_receiver(char n, struct sockaddr_un *a, socklen_t *alen) {
	int r = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	CHECK(r >= 0);
	memset(a, 0, sizeof *a);
	a->sun_family = AF_UNIX;
	a->sun_path[1] = 'q';
	a->sun_path[2] = n;
	*alen = offsetof(struct sockaddr_un, sun_path) + 3;
	CHECK_OK(bind(r, (struct sockaddr *)a, *alen));
	return r;
}

// queued counts the datagrams a new sender gets into r (at most max)
// before EAGAIN.
static int queued(const struct sockaddr_un *a, socklen_t alen, int max) {
	int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	CHECK(s >= 0);
	int n = 0;
	for (; n < max; n++) {
		if (sendto(s, "d", 1, MSG_DONTWAIT, (const struct sockaddr *)a, alen) < 0) {
			CHECK_EQ(errno, EAGAIN);
			break;
		}
	}
	close(s);
	return n;
}

static void dgram_qlen(void) {
	struct sockaddr_un a1, a2, a3;
	socklen_t l1, l2, l3;
	int before = dgram_receiver('1', &a1, &l1);
	SYSCTL_SET("net/unix/max_dgram_qlen", "3");
	int small = dgram_receiver('2', &a2, &l2);
	// Full when more than the limit wait (unix_recvq_full's >).
	CHECK_EQ(queued(&a2, l2, 50), 4);
	CHECK_EQ(queued(&a1, l1, 50), 11);
	SYSCTL_SET("net/unix/max_dgram_qlen", "-1");
	int unbounded = dgram_receiver('3', &a3, &l3);
	CHECK_EQ(queued(&a3, l3, 50), 50);
	SYSCTL_SET("net/unix/max_dgram_qlen", "10");
	close(before);
	close(small);
	close(unbounded);
}

int main(void) {
	enter_netns();
	RUN_STEPS(steps);
	lo_up();
	default_ttl();
	bind_v6_only();
	tw_reuse();
	rto_bounds();
	dgram_qlen();
	return 0;
}
