// net_sysctl_rw: the net.* sysctls are the network namespace's own. In a
// fresh namespace /proc/sys/net/core and ipv4 read Linux's defaults
// (somaxconn 4096, ip_local_port_range 32768-60999, keepalive 7200/75/9,
// tcp_fin_timeout 60, tcp_syn_retries 6, tcp_syncookies 1 (2, cookies for
// every SYN, still connects), tcp_fastopen 1, ip_unprivileged_port_start 1024,
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

static const struct sysctl_step defaults[] = {
	{"net/core/somaxconn", NULL, 0, "4096"},
	{"net/ipv4/ip_local_port_range", NULL, 0, "32768\t60999"},
	{"net/ipv4/ip_unprivileged_port_start", NULL, 0, "1024"},
	{"net/ipv4/tcp_keepalive_time", NULL, 0, "7200"},
	{"net/ipv4/tcp_keepalive_intvl", NULL, 0, "75"},
	{"net/ipv4/tcp_keepalive_probes", NULL, 0, "9"},
	{"net/ipv4/tcp_fin_timeout", NULL, 0, "60"},
	{"net/ipv4/tcp_syn_retries", NULL, 0, "6"},
	{"net/ipv4/tcp_sack", NULL, 0, "1"},
	{"net/ipv4/tcp_syncookies", NULL, 0, "1"},
	{"net/ipv4/tcp_fastopen", NULL, 0, "1"},
	{"net/ipv4/tcp_timestamps", NULL, 0, "1"},
	{"net/ipv4/tcp_slow_start_after_idle", NULL, 0, "1"},
	{"net/ipv4/tcp_window_scaling", NULL, 0, "1"},
	{"net/ipv4/ping_group_range", NULL, 0, "1\t0"},
};

static const struct sysctl_step writes[] = {
	{"net/core/somaxconn", "  128\n", 0, "128"},
	{"net/core/somaxconn", "129 130", 0, "129"},
	{"net/core/somaxconn", "-1", EINVAL, NULL},
	{"net/core/somaxconn", "12x", EINVAL, NULL},
	{"net/core/somaxconn", "abc", EINVAL, NULL},
	{"net/core/somaxconn", "2147483648", EINVAL, "129"},

	{"net/ipv4/ip_local_port_range", "40000 40010\n", 0, "40000\t40010"},
	{"net/ipv4/ip_local_port_range", "40005", 0, "40005\t40010"},
	{"net/ipv4/ip_local_port_range", "40007\t40007", 0, "40007\t40007"},
	{"net/ipv4/ip_local_port_range", "40001 40000", EINVAL, NULL},
	{"net/ipv4/ip_local_port_range", "1000 2000", EINVAL, NULL},
	{"net/ipv4/ip_local_port_range", "0 100", EINVAL, NULL},
	{"net/ipv4/ip_local_port_range", "40000 65536", EINVAL, "40007\t40007"},
	// The privileged ports may not reach into the ephemeral range.
	{"net/ipv4/ip_unprivileged_port_start", "40008", EINVAL, NULL},
	{"net/ipv4/ip_unprivileged_port_start", "0", 0, NULL},
	{"net/ipv4/ip_local_port_range", "1000 2000", 0, "1000\t2000"},
	{"net/ipv4/ip_unprivileged_port_start", "65536", EINVAL, NULL},

	{"net/ipv4/tcp_keepalive_time", "600", 0, NULL},
	{"net/ipv4/tcp_keepalive_intvl", "30", 0, NULL},
	{"net/ipv4/tcp_keepalive_probes", "4", 0, NULL},
	{"net/ipv4/tcp_syn_retries", "3", 0, NULL},
	{"net/ipv4/tcp_keepalive_probes", "256", EINVAL, "4"},
	{"net/ipv4/tcp_syn_retries", "0", EINVAL, NULL},
	{"net/ipv4/tcp_syn_retries", "128", EINVAL, "3"},
};

static const struct sysctl_step more_writes[] = {
	{"net/ipv4/tcp_fin_timeout", "30", 0, "30"},
	{"net/ipv4/tcp_sack", "0", 0, "0"},
	{"net/ipv4/tcp_sack", "256", EINVAL, NULL},
	// A u8, any nonzero value on (the sandbox's TCP always restarts
	// after idle, and refuses 0).
	{"net/ipv4/tcp_slow_start_after_idle", "2", 0, "2"},
	{"net/ipv4/tcp_slow_start_after_idle", "256", EINVAL, "2"},
	{"net/ipv4/tcp_slow_start_after_idle", "-1", EINVAL, "2"},
	{"net/ipv4/tcp_slow_start_after_idle", "1", 0, "1"},
	{"net/ipv4/tcp_syncookies", "2", 0, "2"},
	{"net/ipv4/tcp_syncookies", "256", EINVAL, "2"},
	{"net/ipv4/tcp_fastopen", "0", 0, "0"},
	{"net/ipv4/tcp_fastopen", "1", 0, "1"},
	{"net/ipv4/tcp_rmem", "8192 65536 1048576", 0, "8192\t65536\t1048576"},
	{"net/ipv4/tcp_wmem", "8192", 0, NULL},
	// Any int; 0 or less keeps no connection in TIME-WAIT.
	{"net/ipv4/tcp_max_tw_buckets", "100", 0, "100"},
	{"net/ipv4/tcp_max_tw_buckets", "-5", 0, "-5"},
	{"net/ipv4/tcp_rmem", "0 2 3", EINVAL, NULL},
	// Any int (proc_dointvec).
	{"net/ipv4/tcp_max_syn_backlog", "1", 0, "1"},
	{"net/ipv4/tcp_max_syn_backlog", "-5", 0, "-5"},
	{"net/ipv4/tcp_max_syn_backlog", "2147483647", 0, "2147483647"},
	{"net/ipv4/tcp_max_syn_backlog", "2147483648", EINVAL, "2147483647"},
	{"net/ipv4/tcp_max_syn_backlog", "x", EINVAL, "2147483647"},

	{"net/ipv4/ping_group_range", "0 4294967294", 0, "0\t4294967294"},
	{"net/ipv4/ping_group_range", "5 3", 0, "1\t0"},
	{"net/ipv4/ping_group_range", "0 4294967295", EINVAL, NULL},
	{"net/ipv4/ping_group_range", "-1 5", EINVAL, NULL},

	{"net/ipv4/ip_forward", "1", 0, "1"},
	{"net/ipv4/ip_forward", "0", 0, "0"},
	{"net/ipv4/ip_forward", "x", EINVAL, NULL},

	// net.core.rmem_max and wmem_max are the initial namespace's.
	{"net/core/rmem_max", "300000", EACCES, NULL},
	{"net/core/wmem_max", "300000", EACCES, NULL},
};

int main(void) {
	enter_netns();
	RUN_STEPS(defaults);
	// Scaled with the memory, as tcp_max_tw_buckets: at least 128.
	char backlog[32];
	CHECK(atoi(sysctl_get("net/ipv4/tcp_max_syn_backlog", backlog, sizeof backlog)) >= 128);
	RUN_STEPS(writes);
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(s >= 0);
	CHECK_EQ(getint(s, IPPROTO_TCP, TCP_KEEPIDLE), 600);
	CHECK_EQ(getint(s, IPPROTO_TCP, TCP_KEEPINTVL), 30);
	CHECK_EQ(getint(s, IPPROTO_TCP, TCP_KEEPCNT), 4);
	CHECK_EQ(getint(s, IPPROTO_TCP, TCP_SYNCNT), 3);
	close(s);

	RUN_STEPS(more_writes);
	// With SYN cookies for every connection (tcp_syncookies 2),
	// connections still open and carry data.
	lo_up();
	int c, a;
	tcp_pair(AF_INET, &c, &a);
	CHECK_EQ(write(c, "k", 1), 1);
	char k;
	CHECK_EQ(read(a, &k, 1), 1);
	close(c);
	close(a);
	char buf[256];
	// Fewer values than the vector has change only the first ones.
	CHECK(strncmp(sysctl_get("net/ipv4/tcp_wmem", buf, sizeof buf), "8192\t", 5) == 0);
	CHECK(atol(sysctl_get("net/core/rmem_max", buf, sizeof buf)) >= 2304);

	pid_t pid = XFORK();
	if (pid == 0) {
		// Another namespace has its own values.
		enter_netns();
		RUN_STEPS(defaults);
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
