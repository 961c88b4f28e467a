// proc_net_raw: /proc/net/raw, raw6, icmp and icmp6 list the namespace's
// raw and ping sockets in Linux's formats. A raw socket is there from its
// creation, with its protocol as its local port (00000000:0001 for an
// unbound IPPROTO_ICMP one) and state 07 (CLOSE), until connect(2) makes
// it 01 with the peer's address and port 0. A ping socket is there once
// bound, with its identifier as its port. Every line has the owner's uid
// and the socket's inode; a raw ICMP socket with echoes queued shows a
// non-zero rx_queue; a closed socket's line is gone. sockstat's RAW and
// sockstat6's RAW6 count the raw sockets (not the ping ones). Runs in a
// network namespace of its own, whose ping_group_range it opens to root's
// group.
//
//go:build ignore

#include "inet_check.h"
#include "net_sysctl_check.h"
#include <netinet/ip_icmp.h>

static char text[1 << 16];

static const char *header4 = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops";
static const char *header6 = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops";

// entry is one line of a listing.
struct entry {
	char local[64], remote[64];
	unsigned state, uid;
	unsigned long txq, rxq;
};

static unsigned long ino(int fd) {
	struct stat st;
	CHECK_OK(fstat(fd, &st));
	return st.st_ino;
}

// find reads path, checks its header (icmp's lines are padded to 127
// columns, as udp's are) and the format of every line, and fills e from
// the line of the socket with the given inode: 0 if there is none.
static int find(const char *file, unsigned long inode, struct entry *e) {
	char path[64];
	snprintf(path, sizeof path, "/proc/net/%s", file);
	int v6 = file[strlen(file) - 1] == '6';
	int padded = !v6 && strncmp(file, "icmp", 4) == 0;
	CHECK(read_text(path, text, sizeof text) > 0);
	char *save, *line = strtok_r(text, "\n", &save);
	CHECK(line != NULL);
	const char *want = v6 ? header6 : header4;
	CHECK_EQ(strncmp(line, want, strlen(want)), 0);
	CHECK_EQ(strlen(line), padded ? 127 : strlen(want));
	int found = 0;
	while ((line = strtok_r(NULL, "\n", &save))) {
		struct entry x;
		unsigned long in;
		int sl, ref;
		unsigned drops;
		if (sscanf(line, " %d: %63s %63s %x %lx:%lx %*s %*s %u %*d %lu %d %*s %u", &sl, x.local, x.remote, &x.state, &x.txq, &x.rxq, &x.uid, &in, &ref, &drops) != 10)
			FAIL("bad line in %s: %s", path, line);
		CHECK_EQ(strlen(x.local), v6 ? 37 : 13);
		if (padded)
			CHECK_EQ(strlen(line), 127);
		if (in == inode) {
			CHECK(!found);
			found = 1;
			*e = x;
		}
	}
	return found;
}

// inuse returns the count on the line of /proc/net/file that starts with
// prefix ("RAW: inuse ").
static int inuse(const char *file, const char *prefix) {
	char path[64];
	snprintf(path, sizeof path, "/proc/net/%s", file);
	CHECK(read_text(path, text, sizeof text) > 0);
	char *at = strstr(text, prefix);
	if (at == NULL)
		FAIL("no %s in %s", prefix, path);
	return atoi(at + strlen(prefix));
}

// expect checks the line of fd's socket in file.
static void expect(const char *file, int fd, const char *local, const char *remote, unsigned state) {
	struct entry e;
	if (!find(file, ino(fd), &e))
		FAIL("no line for fd %d in /proc/net/%s", fd, file);
	if (strcmp(e.local, local) != 0 || strcmp(e.remote, remote) != 0)
		FAIL("/proc/net/%s: %s %s, want %s %s", file, e.local, e.remote, local, remote);
	CHECK_EQ(e.state, state);
	CHECK_EQ(e.uid, geteuid());
}

int main(void) {
	enter_netns();
	lo_up();
	CHECK_EQ(sysctl_put("net/ipv4/ping_group_range", "0 0"), 0);
	const char *any4 = "00000000:0000";
	const char *any6 = "00000000000000000000000000000000:0000";
	char local[64], remote[64];

	// A raw socket, unbound.
	int r = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
	CHECK(r >= 0);
	expect("raw", r, "00000000:0001", any4, 0x07);

	// Bound and connected: the peer, port 0, ESTABLISHED.
	int u = socket(AF_INET, SOCK_RAW, IPPROTO_UDP);
	CHECK(u >= 0);
	struct sockaddr_in a = lo4(0);
	CHECK_OK(bind(u, (struct sockaddr *)&a, sizeof a));
	expect("raw", u, "0100007F:0011", any4, 0x07);
	a.sin_addr.s_addr = htonl(0x7f000002);
	a.sin_port = htons(53);
	CHECK_OK(connect(u, (struct sockaddr *)&a, sizeof a));
	expect("raw", u, "0100007F:0011", "0200007F:0000", 0x01);

	int r6 = socket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6);
	CHECK(r6 >= 0);
	struct sockaddr_in6 a6 = lo6(0);
	CHECK_OK(bind(r6, (struct sockaddr *)&a6, sizeof a6));
	expect("raw6", r6, "00000000000000000000000001000000:003A", any6, 0x07);
	struct entry e;
	CHECK(!find("raw", ino(r6), &e));
	CHECK_EQ(inuse("sockstat", "RAW: inuse "), 2);
	CHECK_EQ(inuse("sockstat6", "RAW6: inuse "), 1);

	// A ping socket is listed once bound, under its identifier.
	int p = socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP);
	CHECK(p >= 0);
	CHECK(!find("icmp", ino(p), &e));
	a = lo4(0);
	CHECK_OK(bind(p, (struct sockaddr *)&a, sizeof a));
	int ident = port_of(p);
	CHECK(ident != 0);
	snprintf(local, sizeof local, "0100007F:%04X", ident);
	expect("icmp", p, local, any4, 0x07);

	// An echo to 127.0.0.1: the raw ICMP socket gets copies of the
	// request and the reply.
	struct icmphdr req = {.type = ICMP_ECHO, .un.echo.sequence = htons(1)};
	a = lo4(0);
	CHECK_EQ(sendto(p, &req, sizeof req, 0, (struct sockaddr *)&a, sizeof a), (ssize_t)sizeof req);
	CHECK(poll1(p, POLLIN, 5000) & POLLIN);
	CHECK(poll1(r, POLLIN, 5000) & POLLIN);
	CHECK(find("raw", ino(r), &e));
	CHECK(e.rxq != 0);

	CHECK_OK(connect(p, (struct sockaddr *)&a, sizeof a));
	snprintf(remote, sizeof remote, "0100007F:0000");
	expect("icmp", p, local, remote, 0x01);
	CHECK(!find("icmp6", ino(p), &e));

	int p6 = socket(AF_INET6, SOCK_DGRAM, IPPROTO_ICMPV6);
	CHECK(p6 >= 0);
	a6 = lo6(0);
	CHECK_OK(bind(p6, (struct sockaddr *)&a6, sizeof a6));
	snprintf(local, sizeof local, "00000000000000000000000001000000:%04X", port_of(p6));
	expect("icmp6", p6, local, any6, 0x07);

	unsigned long gone = ino(r);
	CHECK_EQ(inuse("sockstat", "RAW: inuse "), 2);
	CHECK_OK(close(r));
	CHECK(!find("raw", gone, &e));
	CHECK_EQ(inuse("sockstat", "RAW: inuse "), 1);
	return 0;
}
