// iptables_nat: the packet filter that iptables-legacy and
// ip6tables-legacy program, as a service mesh's init container uses it,
// for IPv4 and then IPv6, in a fresh network namespace: a user chain
// that REDIRECTs TCP to the loopback's port 80 to a local port except for
// one user's sockets (-m owner), SO_ORIGINAL_DST on the redirected
// connection, REJECT with a TCP reset, DROP of UDP and ICMP (the send
// fails with EPERM), SO_MARK with the mark match and MARK target,
// the limit match after a LOG rule, conntrack and state matches, multiport, the rules' counters (-save
// -c), a service mesh's rule set through -restore and
// /proc/net/ip{,6}_tables_names. Runs Debian's iptables binaries.
//
//go:build ignore

#include "inet_check.h"
#include "ns_check.h"
#include <arpa/inet.h>
#include <linux/netfilter_ipv4.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdarg.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

// family is what differs between the two runs.
struct family {
	int af;
	const char *ipt;  // the iptables binary
	const char *lo;   // the loopback address as a rule writes it
	const char *host; // another loopback-range source, as one writes it
	const char *icmp; // -p and --icmp-type of an echo request
	int icmpProto;
	unsigned char echoType;
	int ipLevel; // SO_ORIGINAL_DST's level
	const char *names;
};

static const struct family inet4 = {AF_INET, "/usr/sbin/iptables-legacy", "127.0.0.1/32", "127.0.0.6/32",
	"-p icmp --icmp-type echo-request", IPPROTO_ICMP, 8, SOL_IP, "/proc/net/ip_tables_names"};
static const struct family inet6 = {AF_INET6, "/usr/sbin/ip6tables-legacy", "::1/128", "::6/128",
	"-p ipv6-icmp --icmpv6-type echo-request", IPPROTO_ICMPV6, 128, SOL_IPV6, "/proc/net/ip6_tables_names"};

static const struct family *fam;

// ipt runs the family's iptables with the arguments printf makes of
// format and returns its exit status.
static int ipt(const char *format, ...) {
	char args[512], cmd[640];
	va_list ap;
	va_start(ap, format);
	vsnprintf(args, sizeof args, format, ap);
	va_end(ap);
	snprintf(cmd, sizeof cmd, "%s -w %s", fam->ipt, args);
	int st = system(cmd);
	CHECK(st != -1);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

#define IPT(...) CHECK_EQ(ipt(__VA_ARGS__), 0)

// output returns what the shell command cmd writes to stdout.
static char *output(const char *cmd) {
	static char buf[16384];
	FILE *f = popen(cmd, "r");
	CHECK(f != NULL);
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	buf[n] = 0;
	CHECK_EQ(pclose(f), 0);
	return buf;
}

// save returns the family's -save output for table, with counters.
static char *save(const char *table) {
	char cmd[256];
	snprintf(cmd, sizeof cmd, "%s-save -c -t %s", fam->ipt, table);
	return output(cmd);
}

// loopback returns the loopback address of the family at port.
static struct sockaddr_storage loopback(int port, socklen_t *len) {
	struct sockaddr_storage ss = {0};
	if (fam->af == AF_INET) {
		struct sockaddr_in a = lo4(port);
		memcpy(&ss, &a, sizeof a);
		*len = sizeof a;
	} else {
		struct sockaddr_in6 a = lo6(port);
		memcpy(&ss, &a, sizeof a);
		*len = sizeof a;
	}
	return ss;
}

// isLoopback reports whether ss is the family's loopback address at
// port.
static int isLoopback(const struct sockaddr_storage *ss, int port) {
	if (fam->af == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
		return a->sin_family == AF_INET && ntohs(a->sin_port) == port && ntohl(a->sin_addr.s_addr) == INADDR_LOOPBACK;
	}
	const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
	return a->sin6_family == AF_INET6 && ntohs(a->sin6_port) == port && IN6_IS_ADDR_LOOPBACK(&a->sin6_addr);
}

static int bound(int type, int port) {
	int s = socket(fam->af, type, 0);
	CHECK(s >= 0);
	socklen_t len;
	struct sockaddr_storage a = loopback(port, &len);
	CHECK_OK(bind(s, (struct sockaddr *)&a, len));
	return s;
}

static int listenAt(int port) {
	int s = bound(SOCK_STREAM, port);
	CHECK_OK(listen(s, 8));
	return s;
}

// dial connects to the loopback's port and returns the socket, or
// -errno.
static int dial(int port) {
	int s = socket(fam->af, SOCK_STREAM, 0);
	CHECK(s >= 0);
	socklen_t len;
	struct sockaddr_storage a = loopback(port, &len);
	if (connect(s, (struct sockaddr *)&a, len) != 0) {
		int e = errno;
		close(s);
		return -e;
	}
	return s;
}

// dialAs returns what dial(port) gives a process of user uid: 0 for a
// connection, else the errno.
static int dialAs(uid_t uid, int port) {
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		if (setuid(uid) != 0)
			_exit(100);
		int s = dial(port);
		_exit(s >= 0 ? 0 : -s);
	}
	int st;
	CHECK_EQ(waitpid(pid, &st, 0), pid);
	CHECK(WIFEXITED(st));
	return WEXITSTATUS(st);
}

// counted returns the packet count -save -c gives the rule line rule
// ("[packets:bytes] RULE").
static long counted(const char *saved, const char *rule) {
	const char *p = strstr(saved, rule);
	if (!p)
		FAIL("no rule \"%s\" in:\n%s", rule, saved);
	while (p > saved && *p != '[')
		p--;
	return atol(p + 1);
}

// sprint formats into a static buffer (one at a time).
static const char *sprint(const char *format, ...) {
	static char buf[512];
	va_list ap;
	va_start(ap, format);
	vsnprintf(buf, sizeof buf, format, ap);
	va_end(ap);
	return buf;
}

// roundTrip checks one exchange over a connection and closes both ends.
static void roundTrip(int c, int a) {
	char ch;
	CHECK_EQ(write(c, "x", 1), 1);
	CHECK_EQ(read(a, &ch, 1), 1);
	close(a);
	close(c);
}

static void run(const struct family *f) {
	fam = f;
	// The redirection, in a user chain as istio-iptables makes it.
	IPT("-t nat -N REDIR");
	IPT("-t nat -A REDIR -p tcp -j REDIRECT --to-ports 8080");
	IPT("-t nat -A OUTPUT -p tcp -d %s --dport 80 -m owner ! --uid-owner 4242 -j REDIR", fam->lo);
	int proxy = listenAt(8080);
	int c = dial(80);
	CHECK(c >= 0);
	int a = accept(proxy, NULL, NULL);
	CHECK(a >= 0);
	// The proxy learns where the connection was going; the client sees
	// the address it dialled.
	struct sockaddr_storage orig = {0}, peer = {0};
	socklen_t len = sizeof orig;
	CHECK_OK(getsockopt(a, fam->ipLevel, SO_ORIGINAL_DST, &orig, &len));
	CHECK(isLoopback(&orig, 80));
	len = sizeof peer;
	CHECK_OK(getpeername(c, (struct sockaddr *)&peer, &len));
	CHECK(isLoopback(&peer, 80));
	roundTrip(c, a);
	// The excepted user's connections go where they were going: nothing
	// listens on port 80.
	CHECK_EQ(dialAs(4242, 80), ECONNREFUSED);
	CHECK_EQ(dialAs(4343, 80), 0);
	a = accept(proxy, NULL, NULL);
	CHECK(a >= 0);
	close(a);

	// REJECT with a reset, in the filter table, while a listener waits.
	int l81 = listenAt(81);
	IPT("-A OUTPUT -p tcp --dport 81 -j REJECT --reject-with tcp-reset");
	CHECK_EQ(dial(81), -ECONNREFUSED);
	IPT("-D OUTPUT -p tcp --dport 81 -j REJECT --reject-with tcp-reset");
	c = dial(81);
	CHECK(c >= 0);
	close(c);
	close(l81);
	// multiport.
	int l84 = listenAt(84);
	IPT("-A OUTPUT -p tcp -m multiport --dports 83,84:85 -j REJECT --reject-with tcp-reset");
	CHECK_EQ(dial(84), -ECONNREFUSED);
	close(l84);

	// DROP: the datagram never arrives and its send fails.
	int u = bound(SOCK_DGRAM, 9999);
	IPT("-A OUTPUT -p udp --dport 9999 -j DROP");
	int s = socket(fam->af, SOCK_DGRAM, 0);
	CHECK(s >= 0);
	socklen_t ulen;
	struct sockaddr_storage ua = loopback(9999, &ulen);
	CHECK_ERR(sendto(s, "y", 1, 0, (struct sockaddr *)&ua, ulen), EPERM);
	char ch;
	CHECK_ERR(recv(u, &ch, 1, MSG_DONTWAIT), EAGAIN);
	close(s);
	close(u);
	// Marks: a socket's SO_MARK, and the MARK target of the mangle
	// table, which the filter table's mark match sees after it.
	IPT("-A OUTPUT -p udp --dport 9998 -m mark --mark 0x42/0xff -j DROP");
	IPT("-t mangle -A OUTPUT -p udp --dport 9997 -j MARK --set-mark 0x142");
	s = socket(fam->af, SOCK_DGRAM, 0);
	CHECK(s >= 0);
	struct sockaddr_storage ma = loopback(9998, &ulen);
	CHECK_EQ(sendto(s, "m", 1, 0, (struct sockaddr *)&ma, ulen), 1);
	unsigned mark = 0x42;
	CHECK_OK(setsockopt(s, SOL_SOCKET, SO_MARK, &mark, sizeof mark));
	mark = 0;
	socklen_t ml = sizeof mark;
	CHECK_OK(getsockopt(s, SOL_SOCKET, SO_MARK, &mark, &ml));
	CHECK_EQ(mark, 0x42);
	CHECK_ERR(sendto(s, "m", 1, 0, (struct sockaddr *)&ma, ulen), EPERM);
	mark = 0;
	CHECK_OK(setsockopt(s, SOL_SOCKET, SO_MARK, &mark, sizeof mark));
	ma = loopback(9997, &ulen);
	IPT("-A OUTPUT -p udp --dport 9997 -m mark --mark 0x142 -j DROP");
	CHECK_ERR(sendto(s, "m", 1, 0, (struct sockaddr *)&ma, ulen), EPERM);
	close(s);

	// A limit of two datagrams (one an hour after): the third is
	// dropped. LOG, which logs nothing outside the initial namespace,
	// goes on to the next rule.
	IPT("-A OUTPUT -p udp --dport 9996 -j LOG --log-prefix \"limited: \"");
	IPT("-A OUTPUT -p udp --dport 9996 -m limit --limit 1/hour --limit-burst 2 -j ACCEPT");
	IPT("-A OUTPUT -p udp --dport 9996 -j DROP");
	s = socket(fam->af, SOCK_DGRAM, 0);
	CHECK(s >= 0);
	ma = loopback(9996, &ulen);
	CHECK_EQ(sendto(s, "l", 1, 0, (struct sockaddr *)&ma, ulen), 1);
	CHECK_EQ(sendto(s, "l", 1, 0, (struct sockaddr *)&ma, ulen), 1);
	CHECK_ERR(sendto(s, "l", 1, 0, (struct sockaddr *)&ma, ulen), EPERM);
	close(s);
	CHECK_EQ(counted(save("filter"), "-A OUTPUT -p udp -m udp --dport 9996 -j LOG --log-prefix \"limited: \""), 3);

	// The same for an echo request from a raw socket.
	IPT("-A OUTPUT %s -j DROP", fam->icmp);
	int icmp = socket(fam->af, SOCK_RAW, fam->icmpProto);
	CHECK(icmp >= 0);
	// An ICMPv6 socket's checksum is the kernel's; ICMP's is the
	// caller's: that of type 8 and zeros.
	unsigned char echo[8] = {fam->echoType, 0, 0xf7, 0xff};
	struct sockaddr_storage ia = loopback(0, &ulen);
	CHECK_ERR(sendto(icmp, echo, sizeof echo, 0, (struct sockaddr *)&ia, ulen), EPERM);
	close(icmp);

	// Connection state matches: established traffic passes, new
	// connections to port 82 are refused on their way in.
	IPT("-A INPUT -m conntrack --ctstate INVALID -j DROP");
	IPT("-A INPUT -m state --state ESTABLISHED,RELATED -j ACCEPT");
	IPT("-A INPUT -p tcp --dport 82 -m conntrack --ctstate NEW -j REJECT --reject-with tcp-reset");
	int l82 = listenAt(82);
	CHECK_EQ(dial(82), -ECONNREFUSED);
	close(l82);
	c = dial(80);
	CHECK(c >= 0);
	a = accept(proxy, NULL, NULL);
	CHECK(a >= 0);
	roundTrip(c, a);

	// The counters: NAT rules see a connection's first packet only.
	char *saved = save("nat");
	CHECK_EQ(counted(saved, sprint("-A OUTPUT -d %s -p tcp -m tcp --dport 80 -m owner ! --uid-owner 4242 -j REDIR", fam->lo)), 3);
	CHECK_EQ(counted(saved, "-A REDIR -p tcp -j REDIRECT --to-ports 8080"), 3);
	saved = save("filter");
	CHECK_EQ(counted(saved, "-A OUTPUT -p udp -m udp --dport 9999 -j DROP"), 1);

	char *names = output(sprint("cat %s", fam->names));
	CHECK(strstr(names, "filter\n") != NULL);
	CHECK(strstr(names, "nat\n") != NULL);

	// A service mesh's whole rule set, as -restore loads it, comes back
	// from -save as it went in.
	char mesh[13][160];
	const char *rules[13] = {
		"-A PREROUTING -p tcp -j MESH_INBOUND",
		"-A OUTPUT -p tcp -j MESH_OUTPUT",
		"-A MESH_INBOUND -p tcp -m tcp --dport 15008 -j RETURN",
		"-A MESH_INBOUND -p tcp -m multiport --dports 22,15020:15021 -m comment --comment \"mesh/ignore-ports\" -j RETURN",
		"-A MESH_INBOUND -p tcp -j MESH_IN_REDIRECT",
		"-A MESH_IN_REDIRECT -p tcp -j REDIRECT --to-ports 15006",
		"-A MESH_OUTPUT -s %s -o lo -j RETURN",
		"-A MESH_OUTPUT ! -d %s -o lo -m owner --uid-owner 1337 -j MESH_IN_REDIRECT",
		"-A MESH_OUTPUT -o lo -m owner ! --uid-owner 1337 -j RETURN",
		"-A MESH_OUTPUT -m owner --gid-owner 1337 -j RETURN",
		"-A MESH_OUTPUT -d %s -j RETURN",
		"-A MESH_OUTPUT -j MESH_REDIRECT",
		"-A MESH_REDIRECT -p tcp -j REDIRECT --to-ports 15001",
	};
	for (int i = 0; i < 13; i++)
		snprintf(mesh[i], sizeof mesh[i], rules[i], i == 6 ? fam->host : fam->lo);
	FILE *restore = popen(sprint("%s-restore -w", fam->ipt), "w");
	CHECK(restore != NULL);
	fprintf(restore, "*nat\n:MESH_INBOUND - [0:0]\n:MESH_IN_REDIRECT - [0:0]\n:MESH_OUTPUT - [0:0]\n:MESH_REDIRECT - [0:0]\n");
	for (int i = 0; i < 13; i++)
		fprintf(restore, "%s\n", mesh[i]);
	fprintf(restore, "COMMIT\n");
	CHECK_EQ(pclose(restore), 0);
	saved = save("nat");
	for (int i = 0; i < 13; i++)
		if (!strstr(saved, mesh[i]))
			FAIL("no \"%s\" in:\n%s", mesh[i], saved);
	// The owner's loopback connections are not redirected.
	CHECK_EQ(dial(80), -ECONNREFUSED);

	// Flushing leaves the connections alone.
	IPT("-t nat -F");
	IPT("-F");
	c = dial(8080);
	CHECK(c >= 0);
	a = accept(proxy, NULL, NULL);
	CHECK(a >= 0);
	roundTrip(c, a);
	close(proxy);
}

int main(void) {
	if (geteuid() != 0)
		return 0; // a network namespace of its own needs CAP_SYS_ADMIN
	if (access(inet4.ipt, X_OK) != 0 || access(inet6.ipt, X_OK) != 0)
		FAIL("%s or %s is missing: install Debian's iptables (make deps does)", inet4.ipt, inet6.ipt);
	CHECK_OK(unshare(CLONE_NEWNET));
	set_lo_up(1);
	run(&inet4);
	run(&inet6);
	return 0;
}
