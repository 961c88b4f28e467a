// unix_bind: naming unix sockets: a path that exists is EADDRINUSE, a
// missing directory ENOENT, an unwritable one EACCES (as uid 65534); a
// named socket cannot be renamed (EINVAL); connect needs write permission
// on the socket node, finds nobody on a stale node (ECONNREFUSED);
// abstract names (leading NUL) live outside the file system, are unique
// (EADDRINUSE) and vanish with the socket; binding an empty address
// autobinds a 5-hex-digit abstract name; bad addresses are EINVAL; other
// families are EAFNOSUPPORT; socket types and protocols are checked.
//
//go:build ignore

#include "fs_check.h"
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>

static struct sockaddr_un addr(const char *name) {
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof a.sun_path, "%s", name);
	return a;
}

static void nobody(void *arg) {
	(void)arg;
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un a = addr(spath("ro/s"));
	CHECK_ERR(bind(s, (struct sockaddr *)&a, sizeof a), EACCES);
	// Connecting needs write permission on the socket node.
	a = addr(spath("l"));
	CHECK_ERR(connect(s, (struct sockaddr *)&a, sizeof a), EACCES);
	close(s);
}

int main(void) {
	scratch_cd();
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un a = addr("l");
	CHECK_OK(bind(s, (struct sockaddr *)&a, sizeof a));
	CHECK_OK(listen(s, 1));
	int t = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK_ERR(bind(t, (struct sockaddr *)&a, sizeof a), EADDRINUSE);
	make_file("reg", 0644, NULL, 0);
	struct sockaddr_un r = addr("reg");
	CHECK_ERR(bind(t, (struct sockaddr *)&r, sizeof r), EADDRINUSE);
	CHECK_ERR(connect(t, (struct sockaddr *)&r, sizeof r), ECONNREFUSED);
	struct sockaddr_un m = addr("missing/s");
	CHECK_ERR(bind(t, (struct sockaddr *)&m, sizeof m), ENOENT);
	CHECK_ERR(connect(t, (struct sockaddr *)&m, sizeof m), ENOENT);
	struct sockaddr_un b = addr("b");
	CHECK_ERR(bind(s, (struct sockaddr *)&b, sizeof b), EINVAL);
	CHECK_ERR(bind(t, (struct sockaddr *)&a, 1), EINVAL);
	struct sockaddr_un in = a;
	in.sun_family = AF_INET;
	CHECK_ERR(bind(t, (struct sockaddr *)&in, sizeof in), EINVAL);
	CHECK_ERR(listen(t, 1), EINVAL);

	if (geteuid() == 0) {
		CHECK_OK(mkdir("ro", 0755));
		CHECK_OK(chmod("l", 0755));
		as_nobody(nobody, NULL);
	}

	// A stale node: its socket closed.
	int d = socket(AF_UNIX, SOCK_DGRAM, 0);
	struct sockaddr_un da = addr("gone");
	CHECK_OK(bind(d, (struct sockaddr *)&da, sizeof da));
	close(d);
	CHECK(lexists("gone"));
	d = socket(AF_UNIX, SOCK_DGRAM, 0);
	CHECK_ERR(connect(d, (struct sockaddr *)&da, sizeof da), ECONNREFUSED);
	CHECK_ERR(sendto(d, "x", 1, 0, (struct sockaddr *)&da, sizeof da), ECONNREFUSED);
	close(d);

	// Abstract names.
	struct sockaddr_un ab = {.sun_family = AF_UNIX};
	int n = snprintf(ab.sun_path + 1, sizeof ab.sun_path - 1, "cocoon-bind-%d", getpid());
	socklen_t ablen = offsetof(struct sockaddr_un, sun_path) + 1 + n;
	int x = socket(AF_UNIX, SOCK_DGRAM, 0);
	CHECK_OK(bind(x, (struct sockaddr *)&ab, ablen));
	int y = socket(AF_UNIX, SOCK_DGRAM, 0);
	CHECK_ERR(bind(y, (struct sockaddr *)&ab, ablen), EADDRINUSE);
	struct sockaddr_un got;
	socklen_t gl = sizeof got;
	CHECK_OK(getsockname(x, (struct sockaddr *)&got, &gl));
	CHECK_EQ(gl, ablen);
	CHECK_EQ(got.sun_path[0], 0);
	CHECK_MEM(got.sun_path + 1, ab.sun_path + 1, n);
	CHECK_EQ(sendto(y, "abs", 3, 0, (struct sockaddr *)&ab, ablen), 3);
	char buf[8];
	CHECK_EQ(recv(x, buf, sizeof buf, 0), 3);
	// The name is not a prefix match: one byte shorter is another name.
	CHECK_ERR(sendto(y, "abs", 3, 0, (struct sockaddr *)&ab, ablen - 1), ECONNREFUSED);
	close(x);
	CHECK_ERR(sendto(y, "abs", 3, 0, (struct sockaddr *)&ab, ablen), ECONNREFUSED);
	CHECK_OK(bind(y, (struct sockaddr *)&ab, ablen));
	close(y);

	// Autobind.
	int z = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un e = {.sun_family = AF_UNIX};
	CHECK_OK(bind(z, (struct sockaddr *)&e, sizeof(sa_family_t)));
	gl = sizeof got;
	CHECK_OK(getsockname(z, (struct sockaddr *)&got, &gl));
	CHECK_EQ(gl, offsetof(struct sockaddr_un, sun_path) + 6);
	CHECK_EQ(got.sun_path[0], 0);
	for (int i = 1; i < 6; i++)
		CHECK(strchr("0123456789abcdef", got.sun_path[i]) != NULL);
	// It can be listened on and connected to.
	CHECK_OK(listen(z, 1));
	int w = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK_OK(connect(w, (struct sockaddr *)&got, gl));
	close(w);
	close(z);

	// Families, types and protocols.
	// AF_INET exists natively; the sandbox has no inet stack yet and
	// must say so with EAFNOSUPPORT (never crash).
	int inet = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(inet >= 0 || errno == EAFNOSUPPORT);
	if (inet >= 0)
		close(inet);
	CHECK_ERR(socket(1000, SOCK_STREAM, 0), EAFNOSUPPORT);
	CHECK_ERR(socket(AF_UNIX, 1000, 0), EINVAL);
	CHECK_ERR(socket(AF_UNIX, SOCK_STREAM | 0x100000, 0), EINVAL);
	CHECK_ERR(socket(AF_UNIX, SOCK_RDM, 0), ESOCKTNOSUPPORT);
	CHECK_ERR(socket(AF_UNIX, SOCK_STREAM, 7), EPROTONOSUPPORT);
	int raw = socket(AF_UNIX, SOCK_RAW, 0);
	CHECK(raw >= 0);
	int v;
	socklen_t vl = sizeof v;
	CHECK_OK(getsockopt(raw, SOL_SOCKET, SO_TYPE, &v, &vl));
	CHECK_EQ(v, SOCK_DGRAM);
	CHECK_OK(getsockopt(raw, SOL_SOCKET, SO_DOMAIN, &v, &vl));
	CHECK_EQ(v, AF_UNIX);
	CHECK_OK(getsockopt(raw, SOL_SOCKET, SO_PROTOCOL, &v, &vl));
	CHECK_EQ(v, 0);
	CHECK_ERR(getsockopt(raw, SOL_SOCKET, 1000, &v, &vl), ENOPROTOOPT);
	CHECK_ERR(setsockopt(raw, SOL_SOCKET, SO_TYPE, &v, sizeof v), ENOPROTOOPT);
	v = 1;
	CHECK_OK(setsockopt(raw, SOL_SOCKET, SO_REUSEADDR, &v, sizeof v));
	v = 0;
	CHECK_OK(getsockopt(raw, SOL_SOCKET, SO_REUSEADDR, &v, &vl));
	CHECK_EQ(v, 1);
	CHECK_ERR(listen(raw, 1), EOPNOTSUPP);
	CHECK_ERR(accept(raw, NULL, NULL), EOPNOTSUPP);
	CHECK_ERR(getsockopt(0 + 1000, SOL_SOCKET, SO_TYPE, &v, &vl), EBADF);
	int p[2];
	CHECK_OK(pipe(p));
	CHECK_ERR(getsockopt(p[0], SOL_SOCKET, SO_TYPE, &v, &vl), ENOTSOCK);
	CHECK_ERR(recv(p[0], buf, 1, MSG_DONTWAIT), ENOTSOCK);
	return 0;
}
