// netlink_sock_diag: NETLINK_SOCK_DIAG answers SOCK_DIAG_BY_FAMILY.
// An inet dump (AF_INET or AF_INET6, TCP or UDP) lists each socket of
// that family and protocol whose state is in idiag_states: state, ports
// and addresses in network order (IPv4 in idiag_src[0], the rest zero),
// uid and inode; the queues are the unread bytes of an established TCP
// socket, and a listener's accept queue and backlog. idiag_ext with
// INET_DIAG_INFO adds a struct tcp_info to TCP sockets, and only then.
// A lookup without NLM_F_DUMP of an exact TCP 4-tuple is one message
// (not NLM_F_MULTI, no NLMSG_DONE), or ENOENT. A unix dump lists unix
// sockets by udiag_states with the requested attributes: the bound name
// (an accepted socket shares its listener's), the peer's inode, and
// the queues (a listener's: pending connections and backlog). Unknown
// families and short requests are EINVAL, an unknown inet protocol is
// ENOENT. The host's own sockets show up too: ours are told by inode.
//
//go:build ignore

#include "fs_check.h"
#include "netlink_check.h"
#include <linux/inet_diag.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <sys/un.h>

// Our sockets, indexes into fds/inos/got.
enum { T_LIS, T_CLI, T_SRV, T_PEND, T6_LIS, U_BOUND, U_CONN,
       X_LIS, X_CLI, X_SRV, X_PEND, X_PAIR0, X_PAIR1, X_ABS, X_UNB, NOWN };
static const char *names[NOWN] = {"tcp listener", "tcp client", "tcp accepted", "tcp pending",
	"tcp6 listener", "udp bound", "udp connected", "unix listener", "unix client",
	"unix accepted", "unix pending", "socketpair[0]", "socketpair[1]", "abstract listener",
	"unbound unix"};
static int fds[NOWN];
static unsigned inos[NOWN];
static struct nlmsghdr *got[NOWN]; // what the last dump said of each
static unsigned seq = 100, states; // the last request's

static void own(int i, int fd) {
	CHECK(fd >= 0);
	struct stat st;
	CHECK_OK(fstat(fd, &st));
	CHECK(st.st_ino != 0);
	fds[i] = fd;
	inos[i] = st.st_ino;
}

// on_msg checks one dump message, whoever's (its family, a state asked
// for), and keeps a copy if it is one of ours.
static void on_msg(struct nlmsghdr *h, void *arg) {
	int family = *(int *)arg;
	unsigned ino, state;
	CHECK_EQ(h->nlmsg_type, SOCK_DIAG_BY_FAMILY);
	CHECK_EQ(h->nlmsg_flags & NLM_F_MULTI, NLM_F_MULTI);
	if (family == AF_UNIX) {
		struct unix_diag_msg *m = NLMSG_DATA(h);
		CHECK(h->nlmsg_len >= NLMSG_LENGTH(sizeof *m));
		CHECK_EQ(m->udiag_family, AF_UNIX);
		ino = m->udiag_ino;
		state = m->udiag_state;
	} else {
		struct inet_diag_msg *m = NLMSG_DATA(h);
		CHECK(h->nlmsg_len >= NLMSG_LENGTH(sizeof *m));
		CHECK_EQ(m->idiag_family, family);
		ino = m->idiag_inode; // 0 for TIME_WAIT and not yet accepted sockets
		state = m->idiag_state;
	}
	CHECK(state < 32 && (states & 1u << state));
	for (int i = 0; i < NOWN; i++)
		if (ino && inos[i] == ino) {
			if (got[i])
				FAIL("%s listed twice", names[i]);
			got[i] = malloc(h->nlmsg_len);
			memcpy(got[i], h, h->nlmsg_len);
		}
}

static void dump(int fd, int family, const void *req, size_t len) {
	for (int i = 0; i < NOWN; i++) {
		free(got[i]);
		got[i] = NULL;
	}
	seq++;
	nl_send(fd, SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST | NLM_F_DUMP, seq, req, len);
	CHECK_EQ(nl_collect(fd, seq, on_msg, &family), 0);
}

static void inet_dump(int fd, int family, int proto, unsigned st, int ext) {
	struct inet_diag_req_v2 r = {.sdiag_family = family, .sdiag_protocol = proto,
		.idiag_ext = ext, .idiag_states = st};
	states = st;
	dump(fd, family, &r, sizeof r);
}

static void unix_dump(int fd, unsigned st) {
	struct unix_diag_req r = {.sdiag_family = AF_UNIX, .udiag_states = st,
		.udiag_show = UDIAG_SHOW_NAME | UDIAG_SHOW_PEER | UDIAG_SHOW_RQLEN,
		.udiag_cookie = {INET_DIAG_NOCOOKIE, INET_DIAG_NOCOOKIE}};
	states = st;
	dump(fd, AF_UNIX, &r, sizeof r);
}

// listed says whether the last dump had socket i.
static int listed(int i) { return got[i] != NULL; }

static struct nlmsghdr *need(int i) {
	if (!got[i])
		FAIL("%s is not in the dump", names[i]);
	return got[i];
}

// An endpoint as sock_diag puts it: address in 16 bytes, port.
struct ep {
	unsigned char addr[16];
	int port;
};

static struct ep local(int fd, int peer) {
	struct sockaddr_in6 sa;
	socklen_t l = sizeof sa;
	struct ep e = {{0}, 0};
	CHECK_OK(peer ? getpeername(fd, (void *)&sa, &l) : getsockname(fd, (void *)&sa, &l));
	if (sa.sin6_family == AF_INET) {
		struct sockaddr_in *s4 = (void *)&sa;
		memcpy(e.addr, &s4->sin_addr, 4);
		e.port = ntohs(s4->sin_port);
	} else {
		memcpy(e.addr, &sa.sin6_addr, 16);
		e.port = ntohs(sa.sin6_port);
	}
	return e;
}

// check_inet checks what the dump said of socket i against getsockname
// and getpeername (an unconnected peer is all zeroes).
static struct inet_diag_msg *check_inet(int i, int family, int state, int connected) {
	struct inet_diag_msg *m = NLMSG_DATA(need(i));
	struct ep src = local(fds[i], 0), dst = {{0}, 0};
	if (connected)
		dst = local(fds[i], 1);
	CHECK_EQ(m->idiag_family, family);
	CHECK_EQ(m->idiag_state, state);
	CHECK_EQ(ntohs(m->id.idiag_sport), src.port);
	CHECK_EQ(ntohs(m->id.idiag_dport), dst.port);
	CHECK_MEM(m->id.idiag_src, src.addr, 16);
	CHECK_MEM(m->id.idiag_dst, dst.addr, 16);
	CHECK_EQ(m->idiag_uid, getuid());
	CHECK_EQ(m->idiag_inode, inos[i]);
	return m;
}

// attr returns socket i's attribute of type, or NULL.
static struct rtattr *attr(int i, int type) {
	size_t hdr = i >= X_LIS ? sizeof(struct unix_diag_msg) : sizeof(struct inet_diag_msg);
	return rta_get(need(i), hdr, type);
}

// need_attr returns socket i's attribute of type and size len.
static void *need_attr(int i, int type, int len) {
	struct rtattr *a = attr(i, type);
	if (!a)
		FAIL("%s has no attribute %d", names[i], type);
	CHECK_EQ(RTA_PAYLOAD(a), len);
	return RTA_DATA(a);
}

static struct unix_diag_msg *check_unix(int i, int type, int state) {
	struct unix_diag_msg *m = NLMSG_DATA(need(i));
	CHECK_EQ(m->udiag_family, AF_UNIX);
	CHECK_EQ(m->udiag_type, type);
	CHECK_EQ(m->udiag_state, state);
	CHECK_EQ(m->udiag_ino, inos[i]);
	return m;
}

// check_name: UNIX_DIAG_NAME is the len bytes of name.
static void check_name(int i, const char *name, int len) {
	CHECK_MEM(need_attr(i, UNIX_DIAG_NAME, len), name, len);
}

static void check_peer(int i, int peer) {
	CHECK_EQ(*(unsigned *)need_attr(i, UNIX_DIAG_PEER, 4), inos[peer]);
}

static struct unix_diag_rqlen rqlen(int i) {
	return *(struct unix_diag_rqlen *)need_attr(i, UNIX_DIAG_RQLEN, sizeof(struct unix_diag_rqlen));
}

static void wait_readable(int fd) {
	struct pollfd p = {.fd = fd, .events = POLLIN};
	CHECK_EQ(poll(&p, 1, 5000), 1);
}

static int pending(int fd) {
	struct pollfd p = {.fd = fd, .events = POLLIN};
	return poll(&p, 1, 0);
}

// recv_one reads one datagram, which must be one message for seq.
static struct nlmsghdr *recv_one(int fd) {
	static char buf[8192];
	wait_readable(fd);
	int n = recv(fd, buf, sizeof buf, 0);
	struct nlmsghdr *h = (void *)buf;
	CHECK(n >= (int)NLMSG_HDRLEN);
	CHECK_EQ(h->nlmsg_len, n);
	CHECK_EQ(h->nlmsg_seq, seq);
	CHECK_EQ(h->nlmsg_pid, nl_port(fd));
	return h;
}

// expect_error sends a request and wants one message of type (NLMSG_ERROR,
// or NLMSG_DONE for a dump that failed once started) carrying -err.
static void expect_error(int fd, int flags, const void *req, size_t len, int type, int err) {
	nl_send(fd, SOCK_DIAG_BY_FAMILY, flags, ++seq, req, len);
	struct nlmsghdr *h = recv_one(fd);
	CHECK_EQ(h->nlmsg_type, type);
	CHECK(h->nlmsg_len >= NLMSG_LENGTH(sizeof(int)));
	if (type == NLMSG_DONE)
		CHECK_EQ(h->nlmsg_flags & NLM_F_MULTI, NLM_F_MULTI);
	CHECK_EQ(*(int *)NLMSG_DATA(h), -err); // nlmsgerr.error comes first
	CHECK_EQ(pending(fd), 0);
}

// inet_socket returns a socket bound to addr, an ephemeral port.
static int inet_socket(int family, int type, const char *addr) {
	int fd = socket(family, type | SOCK_CLOEXEC, 0);
	CHECK(fd >= 0);
	struct sockaddr_in6 sa = {.sin6_family = family};
	socklen_t l = sizeof sa;
	if (family == AF_INET) {
		l = sizeof(struct sockaddr_in);
		CHECK_EQ(inet_pton(AF_INET, addr, &((struct sockaddr_in *)&sa)->sin_addr), 1);
	} else {
		int one = 1;
		CHECK_OK(setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one));
		CHECK_EQ(inet_pton(AF_INET6, addr, &sa.sin6_addr), 1);
	}
	CHECK_OK(bind(fd, (void *)&sa, l));
	return fd;
}

static int inet_connect(int type, int to) {
	struct sockaddr_in sa;
	socklen_t l = sizeof sa;
	CHECK_OK(getsockname(to, (void *)&sa, &l));
	int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
	CHECK(fd >= 0);
	CHECK_OK(connect(fd, (void *)&sa, l));
	return fd;
}

static void inet_checks(int nl) {
	own(T_LIS, inet_socket(AF_INET, SOCK_STREAM, "127.0.0.1"));
	CHECK_OK(listen(fds[T_LIS], 5));
	own(T_CLI, inet_connect(SOCK_STREAM, fds[T_LIS]));
	own(T_SRV, accept4(fds[T_LIS], NULL, NULL, SOCK_CLOEXEC));
	own(T_PEND, inet_connect(SOCK_STREAM, fds[T_LIS])); // never accepted
	wait_readable(fds[T_LIS]);
	CHECK_EQ(send(fds[T_SRV], "abc", 3, 0), 3);
	CHECK_EQ(send(fds[T_CLI], "hello", 5, 0), 5);
	wait_readable(fds[T_CLI]);
	wait_readable(fds[T_SRV]);
	own(T6_LIS, inet_socket(AF_INET6, SOCK_STREAM, "::1"));
	CHECK_OK(listen(fds[T6_LIS], 5));
	own(U_BOUND, inet_socket(AF_INET, SOCK_DGRAM, "127.0.0.1"));
	own(U_CONN, inet_connect(SOCK_DGRAM, fds[U_BOUND]));

	// Every state: all our IPv4 TCP sockets, not the IPv6 one.
	inet_dump(nl, AF_INET, IPPROTO_TCP, ~0u, 0);
	struct inet_diag_msg *m = check_inet(T_LIS, AF_INET, TCP_LISTEN, 0);
	CHECK_EQ(m->idiag_rqueue, 1); // T_PEND waits in the accept queue
	CHECK_EQ(m->idiag_wqueue, 5); // the backlog
	CHECK_EQ(check_inet(T_CLI, AF_INET, TCP_ESTABLISHED, 1)->idiag_rqueue, 3);
	CHECK_EQ(check_inet(T_SRV, AF_INET, TCP_ESTABLISHED, 1)->idiag_rqueue, 5);
	check_inet(T_PEND, AF_INET, TCP_ESTABLISHED, 1);
	CHECK(!listed(T6_LIS) && !listed(U_BOUND) && !listed(U_CONN));
	CHECK(attr(T_CLI, INET_DIAG_INFO) == NULL); // not asked for

	// The state filter.
	inet_dump(nl, AF_INET, IPPROTO_TCP, 1 << TCP_LISTEN, 0);
	check_inet(T_LIS, AF_INET, TCP_LISTEN, 0);
	CHECK(!listed(T_CLI) && !listed(T_SRV) && !listed(T_PEND));
	inet_dump(nl, AF_INET, IPPROTO_TCP, 1 << TCP_ESTABLISHED, 0);
	CHECK(!listed(T_LIS));
	check_inet(T_CLI, AF_INET, TCP_ESTABLISHED, 1);
	check_inet(T_SRV, AF_INET, TCP_ESTABLISHED, 1);

	// INET_DIAG_INFO: a struct tcp_info, at least its first 104 bytes
	// (up to tcpi_total_retrans); Linux 6.18 sends 280.
	inet_dump(nl, AF_INET, IPPROTO_TCP, 1 << TCP_ESTABLISHED, 1 << (INET_DIAG_INFO - 1));
	for (int i = T_CLI; i <= T_SRV; i++) {
		check_inet(i, AF_INET, TCP_ESTABLISHED, 1);
		struct rtattr *a = attr(i, INET_DIAG_INFO);
		CHECK(a != NULL);
		CHECK(RTA_PAYLOAD(a) >= 104);
		CHECK_EQ(((struct tcp_info *)RTA_DATA(a))->tcpi_state, TCP_ESTABLISHED);
	}

	// AF_INET6: the ::1 listener only.
	inet_dump(nl, AF_INET6, IPPROTO_TCP, ~0u, 0);
	m = check_inet(T6_LIS, AF_INET6, TCP_LISTEN, 0);
	CHECK_EQ(m->idiag_rqueue, 0);
	CHECK_EQ(m->idiag_wqueue, 5);
	for (int i = T_LIS; i <= U_CONN; i++)
		CHECK(i == T6_LIS || !listed(i));

	// UDP: unconnected is TCP_CLOSE, connected TCP_ESTABLISHED.
	inet_dump(nl, AF_INET, IPPROTO_UDP, ~0u, 0);
	check_inet(U_BOUND, AF_INET, TCP_CLOSE, 0);
	check_inet(U_CONN, AF_INET, TCP_ESTABLISHED, 1);
	for (int i = T_LIS; i <= T6_LIS; i++)
		CHECK(!listed(i));
	inet_dump(nl, AF_INET, IPPROTO_UDP, 1 << TCP_CLOSE, 0);
	check_inet(U_BOUND, AF_INET, TCP_CLOSE, 0);
	CHECK(!listed(U_CONN));
	inet_dump(nl, AF_INET6, IPPROTO_UDP, ~0u, 0);
	CHECK(!listed(U_BOUND) && !listed(U_CONN));

	// One socket by its exact 4-tuple (local end first): one message,
	// not part of a dump, and nothing after it.
	for (int i = T_CLI; i <= T_SRV; i++) {
		struct ep src = local(fds[i], 0), dst = local(fds[i], 1);
		struct inet_diag_req_v2 r = {.sdiag_family = AF_INET, .sdiag_protocol = IPPROTO_TCP,
			.idiag_states = ~0u};
		r.id.idiag_sport = htons(src.port);
		r.id.idiag_dport = htons(dst.port);
		memcpy(r.id.idiag_src, src.addr, 4);
		memcpy(r.id.idiag_dst, dst.addr, 4);
		r.id.idiag_cookie[0] = r.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
		nl_send(nl, SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST, ++seq, &r, sizeof r);
		struct nlmsghdr *h = recv_one(nl);
		CHECK_EQ(h->nlmsg_type, SOCK_DIAG_BY_FAMILY);
		CHECK_EQ(h->nlmsg_flags & NLM_F_MULTI, 0);
		CHECK(h->nlmsg_len >= NLMSG_LENGTH(sizeof *m));
		m = NLMSG_DATA(h);
		CHECK_EQ(m->idiag_inode, inos[i]);
		CHECK_EQ(m->idiag_state, TCP_ESTABLISHED);
		CHECK_EQ(m->id.idiag_sport, r.id.idiag_sport);
		CHECK_EQ(m->id.idiag_dport, r.id.idiag_dport);
		CHECK_EQ(pending(nl), 0);
		// The client's port at both ends: no socket has that 4-tuple,
		// and nothing can listen on the local end while the client
		// holds its port, so the lookup finds nothing at all.
		if (i == T_CLI) {
			r.id.idiag_dport = r.id.idiag_sport;
			expect_error(nl, NLM_F_REQUEST, &r, sizeof r, NLMSG_ERROR, ENOENT);
		}
	}
}

static void unix_checks(int nl) {
	char abs[108];
	const char *path = spath("sock");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	CHECK(strlen(path) < sizeof sa.sun_path);
	strcpy(sa.sun_path, path);
	own(X_LIS, socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
	CHECK_OK(bind(fds[X_LIS], (void *)&sa, sizeof sa));
	CHECK_OK(listen(fds[X_LIS], 3));
	own(X_CLI, socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
	CHECK_OK(connect(fds[X_CLI], (void *)&sa, sizeof sa));
	own(X_SRV, accept4(fds[X_LIS], NULL, NULL, SOCK_CLOEXEC));
	own(X_PEND, socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
	CHECK_OK(connect(fds[X_PEND], (void *)&sa, sizeof sa)); // never accepted
	CHECK_EQ(send(fds[X_CLI], "ping", 4, 0), 4);
	CHECK_EQ(send(fds[X_SRV], "pong!!", 6, 0), 6);
	int sv[2];
	CHECK_OK(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv));
	own(X_PAIR0, sv[0]);
	own(X_PAIR1, sv[1]);
	// An abstract name: a NUL, then the name, no terminator.
	int alen = snprintf(abs, sizeof abs, "%ccocoon-diag-%d", 0, getpid());
	struct sockaddr_un as = {.sun_family = AF_UNIX};
	memcpy(as.sun_path, abs, alen);
	own(X_ABS, socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
	CHECK_OK(bind(fds[X_ABS], (void *)&as, offsetof(struct sockaddr_un, sun_path) + alen));
	CHECK_OK(listen(fds[X_ABS], 7));
	own(X_UNB, socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));

	unix_dump(nl, ~0u);
	// A path name is stored with its NUL terminator (getsockname's
	// length), and the accepted socket has its listener's name.
	check_unix(X_LIS, SOCK_STREAM, TCP_LISTEN);
	check_name(X_LIS, path, strlen(path) + 1);
	CHECK(attr(X_LIS, UNIX_DIAG_PEER) == NULL);
	struct unix_diag_rqlen q = rqlen(X_LIS);
	CHECK_EQ(q.udiag_rqueue, 1); // X_PEND
	CHECK_EQ(q.udiag_wqueue, 3); // the backlog
	check_unix(X_CLI, SOCK_STREAM, TCP_ESTABLISHED);
	CHECK(attr(X_CLI, UNIX_DIAG_NAME) == NULL);
	check_peer(X_CLI, X_SRV);
	CHECK_EQ(rqlen(X_CLI).udiag_rqueue, 6);
	check_unix(X_SRV, SOCK_STREAM, TCP_ESTABLISHED);
	check_name(X_SRV, path, strlen(path) + 1);
	check_peer(X_SRV, X_CLI);
	CHECK_EQ(rqlen(X_SRV).udiag_rqueue, 4);
	check_unix(X_PEND, SOCK_STREAM, TCP_ESTABLISHED);
	for (int i = X_PAIR0; i <= X_PAIR1; i++) {
		check_unix(i, SOCK_DGRAM, TCP_ESTABLISHED);
		CHECK(attr(i, UNIX_DIAG_NAME) == NULL);
		check_peer(i, i == X_PAIR0 ? X_PAIR1 : X_PAIR0);
	}
	check_unix(X_ABS, SOCK_STREAM, TCP_LISTEN);
	check_name(X_ABS, abs, alen);
	q = rqlen(X_ABS);
	CHECK_EQ(q.udiag_rqueue, 0);
	CHECK_EQ(q.udiag_wqueue, 7);
	check_unix(X_UNB, SOCK_DGRAM, TCP_CLOSE);
	CHECK(attr(X_UNB, UNIX_DIAG_NAME) == NULL);
	CHECK(attr(X_UNB, UNIX_DIAG_PEER) == NULL);
	for (int i = T_LIS; i <= U_CONN; i++)
		CHECK(!listed(i));

	// Listeners only.
	unix_dump(nl, 1 << TCP_LISTEN);
	check_unix(X_LIS, SOCK_STREAM, TCP_LISTEN);
	check_unix(X_ABS, SOCK_STREAM, TCP_LISTEN);
	for (int i = X_CLI; i <= X_UNB; i++)
		CHECK(i == X_ABS || !listed(i));
}

static void error_checks(int nl) {
	int flags[2] = {NLM_F_REQUEST | NLM_F_DUMP, NLM_F_REQUEST};
	for (int f = 0; f < 2; f++) {
		int e = NLMSG_ERROR;
		struct inet_diag_req_v2 r = {.sdiag_family = 200, .sdiag_protocol = IPPROTO_TCP,
			.idiag_states = ~0u};
		// A family past AF_MAX: EINVAL.
		expect_error(nl, flags[f], &r, sizeof r, e, EINVAL);
		// A protocol inet_diag has no handler for: ENOENT, not EINVAL,
		// for both families. A dump looks for the handler once it has
		// started, so there the NLMSG_DONE carries the error.
		r.sdiag_family = AF_INET;
		r.sdiag_protocol = 200;
		int pe = f == 0 ? NLMSG_DONE : NLMSG_ERROR;
		expect_error(nl, flags[f], &r, sizeof r, pe, ENOENT);
		r.sdiag_family = AF_INET6;
		expect_error(nl, flags[f], &r, sizeof r, pe, ENOENT);
		// Shorter than the family's request: EINVAL.
		r.sdiag_protocol = IPPROTO_TCP;
		expect_error(nl, flags[f], &r, sizeof r - 1, e, EINVAL);
		r.sdiag_family = AF_INET;
		expect_error(nl, flags[f], &r, 4, e, EINVAL);
		struct unix_diag_req u = {.sdiag_family = AF_UNIX, .udiag_states = ~0u};
		expect_error(nl, flags[f], &u, sizeof u - 1, e, EINVAL);
		// Not even a family: EINVAL.
		expect_error(nl, flags[f], &u, 0, e, EINVAL);
	}
}

int main(void) {
	int nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	CHECK(nl >= 0);
	inet_checks(nl);
	unix_checks(nl);
	error_checks(nl);
	for (int i = 0; i < NOWN; i++) {
		CHECK_OK(close(fds[i]));
		free(got[i]);
	}
	CHECK_OK(close(nl));
	return 0; // scratch() removes the socket file and its directory
}
