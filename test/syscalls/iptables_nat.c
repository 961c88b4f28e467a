// iptables_nat: the packet filter that iptables-legacy programs, as a
// service mesh's init container uses it: in a fresh network namespace,
// a user chain that REDIRECTs TCP to 127.0.0.1:80 to a local port except
// for one user's sockets (-m owner), SO_ORIGINAL_DST on the redirected
// connection, REJECT with a TCP reset, DROP of UDP, conntrack and state
// matches, multiport and icmp, the rules' counters (iptables-save -c),
// a service mesh's rule set through iptables-restore and
// /proc/net/ip_tables_names. Runs the Debian iptables-legacy binary.
//
//go:build ignore

#include "check.h"
#include <arpa/inet.h>
#include <linux/netfilter_ipv4.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#define IPTABLES "/usr/sbin/iptables-legacy"

// run runs an iptables command line through the shell and returns its
// exit status.
static int run(const char *cmd) {
	int st = system(cmd);
	CHECK(st != -1);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

#define IPT(args) CHECK_EQ(run(IPTABLES " -w " args), 0)

// output returns what cmd writes to stdout.
static char *output(const char *cmd) {
	static char buf[16384];
	FILE *f = popen(cmd, "r");
	CHECK(f != NULL);
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	buf[n] = 0;
	CHECK_EQ(pclose(f), 0);
	return buf;
}

static struct sockaddr_in loopback(int port) {
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
}

static int listener(int port) {
	int s = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(s >= 0);
	struct sockaddr_in a = loopback(port);
	CHECK_OK(bind(s, (struct sockaddr *)&a, sizeof a));
	CHECK_OK(listen(s, 8));
	return s;
}

// dial connects to 127.0.0.1:port and returns the socket, or -errno.
static int dial(int port) {
	int s = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(s >= 0);
	struct sockaddr_in a = loopback(port);
	if (connect(s, (struct sockaddr *)&a, sizeof a) != 0) {
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

static void loUp(void) {
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	CHECK(s >= 0);
	struct ifreq ifr = {0};
	strcpy(ifr.ifr_name, "lo");
	CHECK_OK(ioctl(s, SIOCGIFFLAGS, &ifr));
	ifr.ifr_flags |= IFF_UP;
	CHECK_OK(ioctl(s, SIOCSIFFLAGS, &ifr));
	close(s);
}

// counted returns the packet count iptables-save -c gives the rule line
// that follows it ("[packets:bytes] RULE").
static long counted(const char *save, const char *rule) {
	const char *p = strstr(save, rule);
	if (!p)
		FAIL("no rule \"%s\" in:\n%s", rule, save);
	while (p > save && *p != '[')
		p--;
	return atol(p + 1);
}

int main(void) {
	if (geteuid() != 0)
		return 0; // a network namespace of its own needs CAP_SYS_ADMIN
	if (access(IPTABLES, X_OK) != 0)
		FAIL("%s is missing: install Debian's iptables (make deps does)", IPTABLES);
	CHECK_OK(unshare(CLONE_NEWNET));
	loUp();

	// The redirection, in a user chain as istio-iptables makes it.
	IPT("-t nat -N REDIR");
	IPT("-t nat -A REDIR -p tcp -j REDIRECT --to-ports 8080");
	IPT("-t nat -A OUTPUT -p tcp -d 127.0.0.1/32 --dport 80 -m owner ! --uid-owner 4242 -j REDIR");
	int proxy = listener(8080);
	int c = dial(80);
	CHECK(c >= 0);
	int a = accept(proxy, NULL, NULL);
	CHECK(a >= 0);
	// The proxy learns where the connection was going.
	struct sockaddr_in orig;
	socklen_t len = sizeof orig;
	CHECK_OK(getsockopt(a, SOL_IP, SO_ORIGINAL_DST, &orig, &len));
	CHECK_EQ(len, sizeof orig);
	CHECK_EQ(ntohs(orig.sin_port), 80);
	CHECK_EQ(ntohl(orig.sin_addr.s_addr), INADDR_LOOPBACK);
	// The client sees the address it dialled.
	struct sockaddr_in peer;
	len = sizeof peer;
	CHECK_OK(getpeername(c, (struct sockaddr *)&peer, &len));
	CHECK_EQ(ntohs(peer.sin_port), 80);
	CHECK_EQ(write(c, "x", 1), 1);
	char ch;
	CHECK_EQ(read(a, &ch, 1), 1);
	close(a);
	close(c);
	// The excepted user's connections go where they were going: nothing
	// listens on port 80.
	CHECK_EQ(dialAs(4242, 80), ECONNREFUSED);
	CHECK_EQ(dialAs(4343, 80), 0);
	a = accept(proxy, NULL, NULL);
	CHECK(a >= 0);
	close(a);

	// REJECT with a reset, in the filter table, while a listener waits.
	int l81 = listener(81);
	IPT("-A OUTPUT -p tcp --dport 81 -j REJECT --reject-with tcp-reset");
	CHECK_EQ(dial(81), -ECONNREFUSED);
	IPT("-D OUTPUT -p tcp --dport 81 -j REJECT --reject-with tcp-reset");
	c = dial(81);
	CHECK(c >= 0);
	close(c);
	close(l81);

	// DROP: the datagram never arrives.
	int u = socket(AF_INET, SOCK_DGRAM, 0);
	CHECK(u >= 0);
	struct sockaddr_in ua = loopback(9999);
	CHECK_OK(bind(u, (struct sockaddr *)&ua, sizeof ua));
	IPT("-A OUTPUT -p udp --dport 9999 -j DROP");
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	CHECK(s >= 0);
	CHECK_EQ(sendto(s, "y", 1, 0, (struct sockaddr *)&ua, sizeof ua), -1);
	CHECK_EQ(errno, EPERM);
	CHECK_EQ(recv(u, &ch, 1, MSG_DONTWAIT), -1);
	CHECK_EQ(errno, EAGAIN);

	// Connection state matches: established traffic passes, new
	// connections to port 82 are dropped on their way in.
	IPT("-A INPUT -m conntrack --ctstate INVALID -j DROP");
	IPT("-A INPUT -m state --state ESTABLISHED,RELATED -j ACCEPT");
	IPT("-A INPUT -p tcp --dport 82 -m conntrack --ctstate NEW -j REJECT --reject-with tcp-reset");
	int l82 = listener(82);
	CHECK_EQ(dial(82), -ECONNREFUSED);
	c = dial(80);
	CHECK(c >= 0);
	a = accept(proxy, NULL, NULL);
	CHECK(a >= 0);
	CHECK_EQ(write(c, "z", 1), 1);
	CHECK_EQ(read(a, &ch, 1), 1);
	close(a);
	close(c);
	close(l82);

	// multiport and icmp.
	int l84 = listener(84);
	IPT("-A OUTPUT -p tcp -m multiport --dports 83,84:85 -j REJECT --reject-with tcp-reset");
	CHECK_EQ(dial(84), -ECONNREFUSED);
	close(l84);
	IPT("-A OUTPUT -p icmp --icmp-type echo-request -j DROP");
	int icmp = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
	CHECK(icmp >= 0);
	unsigned char echo[8] = {8, 0, 0xf7, 0xff}; // type 8, checksum of the rest (0)
	CHECK_EQ(sendto(icmp, echo, sizeof echo, 0, (struct sockaddr *)&ua, sizeof ua), -1);
	CHECK_EQ(errno, EPERM);

	// The counters: NAT rules see a connection's first packet only.
	char *save = output(IPTABLES "-save -c -t nat");
	CHECK_EQ(counted(save, "-A OUTPUT -d 127.0.0.1/32 -p tcp -m tcp --dport 80 -m owner ! --uid-owner 4242 -j REDIR"), 3);
	CHECK_EQ(counted(save, "-A REDIR -p tcp -j REDIRECT --to-ports 8080"), 3);
	save = output(IPTABLES "-save -c -t filter");
	CHECK_EQ(counted(save, "-A OUTPUT -p udp -m udp --dport 9999 -j DROP"), 1);

	char *names = output("cat /proc/net/ip_tables_names");
	CHECK(strstr(names, "filter\n") != NULL);
	CHECK(strstr(names, "nat\n") != NULL);

	// A service mesh's whole rule set, as iptables-restore loads it,
	// comes back from iptables-save as it went in.
	static const char *mesh[] = {
		"-A PREROUTING -p tcp -j MESH_INBOUND",
		"-A OUTPUT -p tcp -j MESH_OUTPUT",
		"-A MESH_INBOUND -p tcp -m tcp --dport 15008 -j RETURN",
		"-A MESH_INBOUND -p tcp -m multiport --dports 22,15020:15021 -j RETURN",
		"-A MESH_INBOUND -p tcp -j MESH_IN_REDIRECT",
		"-A MESH_IN_REDIRECT -p tcp -j REDIRECT --to-ports 15006",
		"-A MESH_OUTPUT -s 127.0.0.6/32 -o lo -j RETURN",
		"-A MESH_OUTPUT ! -d 127.0.0.1/32 -o lo -m owner --uid-owner 1337 -j MESH_IN_REDIRECT",
		"-A MESH_OUTPUT -o lo -m owner ! --uid-owner 1337 -j RETURN",
		"-A MESH_OUTPUT -m owner --gid-owner 1337 -j RETURN",
		"-A MESH_OUTPUT -d 127.0.0.1/32 -j RETURN",
		"-A MESH_OUTPUT -j MESH_REDIRECT",
		"-A MESH_REDIRECT -p tcp -j REDIRECT --to-ports 15001",
	};
	FILE *restore = popen(IPTABLES "-restore -w", "w");
	CHECK(restore != NULL);
	fprintf(restore, "*nat\n:MESH_INBOUND - [0:0]\n:MESH_IN_REDIRECT - [0:0]\n:MESH_OUTPUT - [0:0]\n:MESH_REDIRECT - [0:0]\n");
	for (size_t i = 0; i < sizeof mesh / sizeof *mesh; i++)
		fprintf(restore, "%s\n", mesh[i]);
	fprintf(restore, "COMMIT\n");
	CHECK_EQ(pclose(restore), 0);
	save = output(IPTABLES "-save -t nat");
	for (size_t i = 0; i < sizeof mesh / sizeof *mesh; i++)
		if (!strstr(save, mesh[i]))
			FAIL("no \"%s\" in:\n%s", mesh[i], save);
	// The owner's loopback connections are not redirected.
	CHECK_EQ(dial(80), -ECONNREFUSED);

	// Flushing gives the connections back their destinations.
	IPT("-t nat -F OUTPUT");
	CHECK_EQ(dial(80), -ECONNREFUSED);
	return 0;
}
