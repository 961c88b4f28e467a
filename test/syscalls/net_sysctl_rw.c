// net_sysctl_rw: the net.* sysctls are the network namespace's own. In a
// fresh namespace /proc/sys/net/core and ipv4 read Linux's defaults
// (somaxconn 4096, ip_local_port_range 32768-60999, keepalive 7200/75/9,
// tcp_fin_timeout 60, tcp_syn_retries 6, ip_unprivileged_port_start 1024,
// ping_group_range "1 0") and root writes them back (proc_dointvec:
// blanks and a newline allowed, values past the vector's length ignored,
// fewer values change only the first ones); values out of range, not
// numbers, an inverted port range or one below
// ip_unprivileged_port_start are EINVAL; an empty ping range reads "1 0".
// A new TCP socket's TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT and
// TCP_SYNCNT are the namespace's sysctls. A namespace made from this one
// starts again from the defaults. A process that is neither root nor holds
// CAP_NET_ADMIN cannot open the files for writing (EACCES), and a child
// namespace's net.core.rmem_max is read-only even to root.
//
//go:build ignore

#include "inet_check.h"
#include "net_sysctl_check.h"
#include <netinet/tcp.h>

static void defaults(void) {
	SYSCTL_IS("net/core/somaxconn", "4096");
	SYSCTL_IS("net/ipv4/ip_local_port_range", "32768\t60999");
	SYSCTL_IS("net/ipv4/ip_unprivileged_port_start", "1024");
	SYSCTL_IS("net/ipv4/tcp_keepalive_time", "7200");
	SYSCTL_IS("net/ipv4/tcp_keepalive_intvl", "75");
	SYSCTL_IS("net/ipv4/tcp_keepalive_probes", "9");
	SYSCTL_IS("net/ipv4/tcp_fin_timeout", "60");
	SYSCTL_IS("net/ipv4/tcp_syn_retries", "6");
	SYSCTL_IS("net/ipv4/tcp_sack", "1");
	SYSCTL_IS("net/ipv4/tcp_timestamps", "1");
	SYSCTL_IS("net/ipv4/tcp_window_scaling", "1");
	SYSCTL_IS("net/ipv4/ping_group_range", "1\t0");
}

int main(void) {
	enter_netns();
	defaults();

	SYSCTL_SET("net/core/somaxconn", "  128\n");
	SYSCTL_IS("net/core/somaxconn", "128");
	SYSCTL_SET("net/core/somaxconn", "129 130");
	SYSCTL_IS("net/core/somaxconn", "129");
	CHECK_EQ(sysctl_put("net/core/somaxconn", "-1"), EINVAL);
	CHECK_EQ(sysctl_put("net/core/somaxconn", "12x"), EINVAL);
	CHECK_EQ(sysctl_put("net/core/somaxconn", "abc"), EINVAL);
	CHECK_EQ(sysctl_put("net/core/somaxconn", "2147483648"), EINVAL);
	SYSCTL_IS("net/core/somaxconn", "129");

	SYSCTL_SET("net/ipv4/ip_local_port_range", "40000 40010\n");
	SYSCTL_IS("net/ipv4/ip_local_port_range", "40000\t40010");
	SYSCTL_SET("net/ipv4/ip_local_port_range", "40005");
	SYSCTL_IS("net/ipv4/ip_local_port_range", "40005\t40010");
	SYSCTL_SET("net/ipv4/ip_local_port_range", "40007\t40007");
	SYSCTL_IS("net/ipv4/ip_local_port_range", "40007\t40007");
	CHECK_EQ(sysctl_put("net/ipv4/ip_local_port_range", "40001 40000"), EINVAL);
	CHECK_EQ(sysctl_put("net/ipv4/ip_local_port_range", "1000 2000"), EINVAL);
	CHECK_EQ(sysctl_put("net/ipv4/ip_local_port_range", "0 100"), EINVAL);
	CHECK_EQ(sysctl_put("net/ipv4/ip_local_port_range", "40000 65536"), EINVAL);
	SYSCTL_IS("net/ipv4/ip_local_port_range", "40007\t40007");
	// The privileged ports may not reach into the ephemeral range.
	CHECK_EQ(sysctl_put("net/ipv4/ip_unprivileged_port_start", "40008"), EINVAL);
	SYSCTL_SET("net/ipv4/ip_unprivileged_port_start", "0");
	SYSCTL_SET("net/ipv4/ip_local_port_range", "1000 2000");
	SYSCTL_IS("net/ipv4/ip_local_port_range", "1000\t2000");
	CHECK_EQ(sysctl_put("net/ipv4/ip_unprivileged_port_start", "65536"), EINVAL);

	SYSCTL_SET("net/ipv4/tcp_keepalive_time", "600");
	SYSCTL_SET("net/ipv4/tcp_keepalive_intvl", "30");
	SYSCTL_SET("net/ipv4/tcp_keepalive_probes", "4");
	SYSCTL_SET("net/ipv4/tcp_syn_retries", "3");
	CHECK_EQ(sysctl_put("net/ipv4/tcp_keepalive_probes", "256"), EINVAL);
	CHECK_EQ(sysctl_put("net/ipv4/tcp_syn_retries", "0"), EINVAL);
	CHECK_EQ(sysctl_put("net/ipv4/tcp_syn_retries", "128"), EINVAL);
	SYSCTL_IS("net/ipv4/tcp_keepalive_probes", "4");
	SYSCTL_IS("net/ipv4/tcp_syn_retries", "3");
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(s >= 0);
	CHECK_EQ(getint(s, IPPROTO_TCP, TCP_KEEPIDLE), 600);
	CHECK_EQ(getint(s, IPPROTO_TCP, TCP_KEEPINTVL), 30);
	CHECK_EQ(getint(s, IPPROTO_TCP, TCP_KEEPCNT), 4);
	CHECK_EQ(getint(s, IPPROTO_TCP, TCP_SYNCNT), 3);
	close(s);

	SYSCTL_SET("net/ipv4/tcp_fin_timeout", "30");
	SYSCTL_IS("net/ipv4/tcp_fin_timeout", "30");
	SYSCTL_SET("net/ipv4/tcp_sack", "0");
	SYSCTL_IS("net/ipv4/tcp_sack", "0");
	CHECK_EQ(sysctl_put("net/ipv4/tcp_sack", "256"), EINVAL);
	SYSCTL_SET("net/ipv4/tcp_rmem", "8192 65536 1048576");
	SYSCTL_IS("net/ipv4/tcp_rmem", "8192\t65536\t1048576");
	SYSCTL_SET("net/ipv4/tcp_wmem", "8192");
	char buf[256];
	CHECK(strncmp(sysctl_get("net/ipv4/tcp_wmem", buf, sizeof buf), "8192\t", 5) == 0);
	CHECK_EQ(sysctl_put("net/ipv4/tcp_rmem", "0 2 3"), EINVAL);

	SYSCTL_SET("net/ipv4/ping_group_range", "0 4294967294");
	SYSCTL_IS("net/ipv4/ping_group_range", "0\t4294967294");
	SYSCTL_SET("net/ipv4/ping_group_range", "5 3");
	SYSCTL_IS("net/ipv4/ping_group_range", "1\t0");
	CHECK_EQ(sysctl_put("net/ipv4/ping_group_range", "0 4294967295"), EINVAL);
	CHECK_EQ(sysctl_put("net/ipv4/ping_group_range", "-1 5"), EINVAL);

	SYSCTL_SET("net/ipv4/ip_forward", "1");
	SYSCTL_IS("net/ipv4/ip_forward", "1");
	SYSCTL_SET("net/ipv4/ip_forward", "0");
	SYSCTL_IS("net/ipv4/ip_forward", "0");
	CHECK_EQ(sysctl_put("net/ipv4/ip_forward", "x"), EINVAL);

	// net.core.rmem_max and wmem_max are the initial namespace's.
	CHECK_EQ(sysctl_put("net/core/rmem_max", "300000"), EACCES);
	CHECK_EQ(sysctl_put("net/core/wmem_max", "300000"), EACCES);
	CHECK(atol(sysctl_get("net/core/rmem_max", buf, sizeof buf)) >= 2304);

	pid_t pid = XFORK();
	if (pid == 0) {
		// Another namespace has its own values.
		enter_netns();
		defaults();
		SYSCTL_SET("net/core/somaxconn", "7");
		_exit(0);
	}
	WAIT_EXIT(pid, 0);
	SYSCTL_IS("net/core/somaxconn", "129");

	pid = XFORK();
	if (pid == 0) {
		CHECK_OK(setgid(65534));
		CHECK_OK(setuid(65534));
		CHECK_EQ(sysctl_put("net/core/somaxconn", "5"), EACCES);
		SYSCTL_IS("net/core/somaxconn", "129");
		_exit(0);
	}
	WAIT_EXIT(pid, 0);
	return 0;
}
