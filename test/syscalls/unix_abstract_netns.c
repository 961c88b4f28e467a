// unix_abstract_netns: abstract AF_UNIX names belong to a network
// namespace (Linux keys them by sock_net). A name bound in one namespace
// is not found from another: connect and sendto there are ECONNREFUSED,
// and the same name can be bound there too, each namespace's connectors
// reaching their own listener. The namespace that counts is the socket's,
// the one it was created in: a socket made before unshare(CLONE_NEWNET)
// still reaches the old namespace's names. Autobind works in the new
// namespace. (Within a namespace a stream and a datagram socket can
// share a name: the abstract namespace is per socket type as well.)
// Names in the file system are not per namespace: a socket
// bound to a path is reached from any network namespace.
//
//go:build ignore

#include "fs_check.h"
#include <linux/capability.h>
#include <sched.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>

static char name[32];
static int name_len;

static socklen_t abstract_addr(struct sockaddr_un *a) {
	memset(a, 0, sizeof *a);
	a->sun_family = AF_UNIX;
	memcpy(a->sun_path + 1, name, name_len);
	return offsetof(struct sockaddr_un, sun_path) + 1 + name_len;
}

static int bound(int type) {
	int s = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
	CHECK(s >= 0);
	struct sockaddr_un a;
	socklen_t len = abstract_addr(&a);
	CHECK_OK(bind(s, (struct sockaddr *)&a, len));
	if (type == SOCK_STREAM)
		CHECK_OK(listen(s, 4));
	return s;
}

static int connect_name(int s) {
	struct sockaddr_un a;
	socklen_t len = abstract_addr(&a);
	int r = connect(s, (struct sockaddr *)&a, len);
	return r == 0 ? 0 : errno;
}

// reaches connects a new stream socket to the name and checks that
// listener l (of the caller's namespace) gets the connection.
static void reaches(int l) {
	int c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(c >= 0);
	CHECK_EQ(connect_name(c), 0);
	int a = accept(l, NULL, NULL);
	CHECK(a >= 0);
	CHECK_EQ(write(c, "x", 1), 1);
	char b;
	CHECK_EQ(read(a, &b, 1), 1);
	close(a);
	close(c);
}

int main(void) {
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2];
	CHECK_OK(syscall(SYS_capget, &h, d));
	if (!((d[0].effective >> CAP_SYS_ADMIN) & 1))
		return 0; // unshare(CLONE_NEWNET) needs it
	name_len = snprintf(name, sizeof name, "cocoon-absns-%d", (int)getpid());
	scratch();
	int l = bound(SOCK_STREAM);
	int pd = bound(SOCK_DGRAM); // names are per socket type, too
	// A path name, reachable from everywhere.
	int pl = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(pl >= 0);
	struct sockaddr_un pa = {.sun_family = AF_UNIX};
	snprintf(pa.sun_path, sizeof pa.sun_path, "%s", spath("sock"));
	CHECK_OK(bind(pl, (struct sockaddr *)&pa, sizeof pa));
	CHECK_OK(listen(pl, 4));

	int ready[2], done[2];
	CHECK_OK(pipe(ready));
	CHECK_OK(pipe(done));
	fflush(NULL);
	pid_t pid = XFORK();
	if (pid == 0) {
		alarm(10);
		// Made before the unshare: of the old namespace.
		int old = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		CHECK(old >= 0);
		CHECK_OK(unshare(CLONE_NEWNET));

		int c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		CHECK(c >= 0);
		CHECK_EQ(connect_name(c), ECONNREFUSED);
		close(c);
		int dg = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		CHECK(dg >= 0);
		struct sockaddr_un a;
		socklen_t len = abstract_addr(&a);
		CHECK_ERR(sendto(dg, "x", 1, 0, (struct sockaddr *)&a, len), ECONNREFUSED);
		CHECK_EQ(connect_name(dg), ECONNREFUSED);

		// The old socket looks the name up in the old namespace.
		CHECK_EQ(connect_name(old), 0);
		close(old);

		// The name is free here; connectors here reach this listener.
		int mine = bound(SOCK_STREAM);
		reaches(mine);
		struct sockaddr_un got;
		socklen_t glen = sizeof got;
		CHECK_OK(getsockname(mine, (struct sockaddr *)&got, &glen));
		CHECK_EQ(glen, len);
		CHECK_MEM(got.sun_path, a.sun_path, len - offsetof(struct sockaddr_un, sun_path));
		// A datagram socket bound to the name here receives.
		int rd = bound(SOCK_DGRAM);
		CHECK_EQ(sendto(dg, "y", 1, 0, (struct sockaddr *)&a, len), 1);
		char b;
		CHECK_EQ(recv(rd, &b, 1, MSG_DONTWAIT), 1);
		CHECK_EQ(b, 'y');

		// Autobind works here.
		int ab = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		CHECK(ab >= 0);
		sa_family_t fam = AF_UNIX;
		CHECK_OK(bind(ab, (struct sockaddr *)&fam, sizeof fam));
		glen = sizeof got;
		CHECK_OK(getsockname(ab, (struct sockaddr *)&got, &glen));
		CHECK_EQ(glen, offsetof(struct sockaddr_un, sun_path) + 6);

		// A path name reaches the old namespace's listener.
		int pc = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		CHECK(pc >= 0);
		CHECK_OK(connect(pc, (struct sockaddr *)&pa, sizeof pa));

		CHECK_EQ(write(ready[1], "1", 1), 1);
		close(done[1]);
		CHECK_EQ(read(done[0], &b, 1), 0);
		_exit(0);
	}
	close(ready[1]);
	close(done[0]);
	char b;
	CHECK_EQ(read(ready[0], &b, 1), 1);
	// The child's old socket and its path connection are queued here.
	int a = accept(l, NULL, NULL);
	CHECK(a >= 0);
	close(a);
	a = accept(pl, NULL, NULL);
	CHECK(a >= 0);
	close(a);
	// This namespace's name is still this listener, though the child
	// bound the same name in its own.
	reaches(l);
	CHECK_OK(close(done[1]));
	WAIT_EXIT(pid, 0);
	CHECK_ERR(recv(pd, &b, 1, MSG_DONTWAIT), EAGAIN);
	close(pd);
	close(l);
	close(pl);
	return 0;
}
