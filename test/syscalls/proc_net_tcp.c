// proc_net_tcp: /proc/net/tcp, tcp6, udp and unix list the sandbox's
// sockets in Linux's formats: a TCP listener on 127.0.0.1 is a line with
// 0100007F:PORT, state 0A and the socket's inode; both ends of a
// connection are there ESTABLISHED (01) with each other's addresses; an
// AF_INET6 listener on ::1 is in tcp6; a bound UDP socket is in udp
// (state 07, CLOSE); a listening unix socket with an abstract name is in
// unix with __SO_ACCEPTCON and "@name". /proc/net is /proc/self/net.
//
//go:build ignore

#include "inet_check.h"
#include <stddef.h>
#include <sys/un.h>

static char text[1 << 20];

static const char *slurp(const char *path) {
	int fd = open(path, O_RDONLY);
	CHECK(fd >= 0);
	size_t n = 0;
	for (;;) {
		ssize_t r = read(fd, text + n, sizeof text - 1 - n);
		CHECK(r >= 0);
		if (r == 0)
			break;
		n += r;
	}
	text[n] = 0;
	close(fd);
	return text;
}

static unsigned long ino(int fd) {
	struct stat st;
	CHECK_OK(fstat(fd, &st));
	return st.st_ino;
}

// find returns the line of path whose local and remote addresses are the
// given strings, checking its state and (if non-zero) inode.
static void find(const char *path, const char *local, const char *remote, int state, unsigned long inode) {
	slurp(path);
	char *save, *line = strtok_r(text, "\n", &save);
	CHECK(line != NULL);
	CHECK(strstr(line, "local_address") != NULL);
	while ((line = strtok_r(NULL, "\n", &save))) {
		char l[64], r[64];
		unsigned st, uid;
		unsigned long in;
		int sl;
		if (sscanf(line, " %d: %63s %63s %x %*s %*s %*s %u %*d %lu", &sl, l, r, &st, &uid, &in) != 6)
			FAIL("bad line in %s: %s", path, line);
		if (strcmp(l, local) == 0 && strcmp(r, remote) == 0) {
			CHECK_EQ(st, state);
			CHECK_EQ(uid, geteuid());
			if (inode)
				CHECK_EQ(in, inode);
			return;
		}
	}
	FAIL("no %s -> %s in %s", local, remote, path);
}

int main(void) {
	char local[64], remote[64];
	int l = listener(AF_INET, 4);
	int port = port_of(l);
	snprintf(local, sizeof local, "0100007F:%04X", port);
	find("/proc/net/tcp", local, "00000000:0000", 0x0A, ino(l));
	find("/proc/self/net/tcp", local, "00000000:0000", 0x0A, ino(l));

	int c = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = lo4(port);
	CHECK_OK(connect(c, (struct sockaddr *)&a, sizeof a));
	int s = accept(l, NULL, NULL);
	CHECK(s >= 0);
	snprintf(remote, sizeof remote, "0100007F:%04X", port_of(c));
	find("/proc/net/tcp", remote, local, 0x01, ino(c));
	find("/proc/net/tcp", local, remote, 0x01, ino(s));

	int l6 = listener(AF_INET6, 4);
	snprintf(local, sizeof local, "00000000000000000000000001000000:%04X", port_of(l6));
	find("/proc/net/tcp6", local, "00000000000000000000000000000000:0000", 0x0A, ino(l6));

	int u = socket(AF_INET, SOCK_DGRAM, 0);
	a = lo4(0);
	CHECK_OK(bind(u, (struct sockaddr *)&a, sizeof a));
	snprintf(local, sizeof local, "0100007F:%04X", port_of(u));
	find("/proc/net/udp", local, "00000000:0000", 0x07, ino(u));

	// A listening abstract unix socket.
	int x = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un un = {.sun_family = AF_UNIX};
	char name[32];
	snprintf(name, sizeof name, "cocoon-proc-net-%d", getpid());
	memcpy(un.sun_path + 1, name, strlen(name));
	CHECK_OK(bind(x, (struct sockaddr *)&un, offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name)));
	CHECK_OK(listen(x, 1));
	slurp("/proc/net/unix");
	CHECK_EQ(strncmp(text, "Num       RefCount Protocol Flags    Type St Inode Path\n", 56), 0);
	char want[128];
	snprintf(want, sizeof want, "00010000 0001 01 %5lu @%s\n", ino(x), name);
	CHECK(strstr(text, want) != NULL);

	char link[64] = {0};
	CHECK(readlink("/proc/net", link, sizeof link - 1) > 0);
	CHECK_EQ(strcmp(link, "self/net"), 0);
	return 0;
}
